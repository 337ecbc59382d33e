// Command kubeyaml filters a stream of Kubernetes YAML documents by kind:
//
//	kubeyaml KIND       prints the documents of that kind
//	kubeyaml -not KIND  prints every other document
//
// It reads stdin and writes each chosen document unchanged, followed by a
// "---" line, so `kubectl apply -f -` takes the output. scripts/autoscale.sh
// uses it to apply an APIService only after the Deployment serving it is
// available. Documents are split as kubectl splits them (a line that is
// "---", perhaps followed by a comment) and their kind is read with a YAML
// parser, so quoting, comments and key order do not matter.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

func main() {
	not := flag.Bool("not", false, "print the documents that are not of KIND")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: kubeyaml [-not] KIND < documents.yaml")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	in, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = filter(os.Stdout, in, flag.Arg(0), *not)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeyaml:", err)
		os.Exit(1)
	}
}

// filter writes the documents of in whose kind is kind (not: whose kind
// is not kind) to w, each followed by a "---" line. Empty documents (only
// blank lines and comments) are dropped.
func filter(w io.Writer, in []byte, kind string, not bool) error {
	for i, doc := range split(in) {
		if empty(doc) {
			continue
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		if (meta.Kind == kind) == not {
			continue
		}
		if _, err := fmt.Fprintf(w, "%s\n---\n", bytes.TrimRight(doc, "\n")); err != nil {
			return err
		}
	}
	return nil
}

// split cuts in at its document separators: lines that are "---", alone or
// followed by blanks or a comment, as kubectl's YAML reader does.
func split(in []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(in, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("---")); ok {
			if rest = bytes.TrimSpace(rest); len(rest) == 0 || rest[0] == '#' {
				docs = append(docs, cur)
				cur = nil
				continue
			}
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

// empty reports whether doc holds only blank lines and comments.
func empty(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if l := bytes.TrimSpace(line); len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}
