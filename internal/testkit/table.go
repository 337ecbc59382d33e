package testkit

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Table is a plain-text table for an audit report: a title, a header row
// and rows, columns aligned.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	// Notes are printed under the table, one a line: what a column means.
	Notes []string
}

// Add appends a row, each cell formatted with %v.
func (tb *Table) Add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	tb.Rows = append(tb.Rows, row)
}

// String renders the table.
func (tb *Table) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n==== %s ====\n", tb.Title)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, row := range append([][]string{tb.Header}, tb.Rows...) {
		fmt.Fprintf(w, "  %s\t\n", strings.Join(row, "\t"))
	}
	w.Flush()
	for _, n := range tb.Notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	return b.String()
}
