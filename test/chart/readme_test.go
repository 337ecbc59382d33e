package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// helmDocsFlags are mk/k8s.mk's HELM_DOCS_FLAGS (make exports them as
// ORDERS_HELM_DOCS_FLAGS; these are the same, for a plain go test).
const helmDocsFlags = "--sort-values-order file --skip-version-footer"

// TestChartReadmeCurrent: charts/orders/README.md is what helm-docs makes
// of README.md.gotmpl and the values.yaml comments now (run `make
// chart-docs` after changing either), and it is what `helm show readme`
// prints.
func TestChartReadmeCurrent(t *testing.T) {
	flags := os.Getenv("ORDERS_HELM_DOCS_FLAGS")
	if flags == "" {
		flags = helmDocsFlags
	}
	args := append([]string{"--chart-search-root", chartDir(t), "--dry-run", "--log-level", "error"}, strings.Fields(flags)...)
	cmd := exec.Command(tool(t, "helm-docs", "tools"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm-docs %v: %v\n%s", args, err, stderr.String())
	}
	have, err := os.ReadFile(filepath.Join(chartDir(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := stdout.String(); string(have) != want {
		t.Errorf("charts/orders/README.md is stale: run `make chart-docs`\n%s", firstDiff(string(have), want))
	}
	for _, key := range []string{"nats.cluster", "nats.tls.enabled", "nats.tls.source", "nats.auth.enabled", "nats.auth.users", "networkPolicy.enabled", "imagePullSecrets", "consumer.topologySpreadConstraints", "nats.jetstream.storage.retainOnUninstall"} {
		if !strings.Contains(string(have), "| "+key+" |") {
			t.Errorf("README.md has no row for %s", key)
		}
	}

	out, err := exec.Command(tool(t, "helm", "tools"), "show", "readme", chartDir(t)).Output()
	if err != nil {
		t.Fatalf("helm show readme: %v", err)
	}
	if strings.TrimSpace(string(out)) != strings.TrimSpace(string(have)) {
		t.Errorf("helm show readme does not print README.md\n%s", firstDiff(string(have), string(out)))
	}
}

// firstDiff names the first line where two texts differ.
func firstDiff(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(h) || i < len(w); i++ {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl {
			return fmt.Sprintf("line %d:\n  have: %s\n  want: %s", i+1, hl, wl)
		}
	}
	return "they differ only in line endings"
}

// readmeMaxWords is issue 18's bound on the top-level README: what it is,
// the two commands, the picture and the package map, the delivery modes,
// the first settings and where to go next; everything else lives in docs/.
const readmeMaxWords = 1300

// readmeMaxSettings is how many rows the README's settings table may
// have: the ones people change first; -h and docs/configuration.md have
// the rest.
const readmeMaxSettings = 10

// TestReadmeStaysShort: README.md keeps to its word budget (counted as
// wc -w counts) and to ten settings.
func TestReadmeStaysShort(t *testing.T) {
	text := readDoc(t, "README.md")
	if n := len(strings.Fields(text)); n > readmeMaxWords {
		t.Errorf("README.md has %d words, want at most %d: move the detail to docs/", n, readmeMaxWords)
	}
	rows := settingsRows(t, "README.md", text)
	if len(rows) == 0 || len(rows) > readmeMaxSettings {
		t.Errorf("README.md's settings table has %d rows, want 1 to %d", len(rows), readmeMaxSettings)
	}
}

// TestReadmeSettingsMatchBinaries: every variable the settings tables of
// README.md and docs/configuration.md name is one the binaries they say
// use it list in -h, with the default the table gives (a default written
// as unset, a dash or prose stands for none).
func TestReadmeSettingsMatchBinaries(t *testing.T) {
	vars := map[string]map[string]string{
		"producer": binaryVars(t, "producer"),
		"consumer": binaryVars(t, "consumer"),
	}
	for _, doc := range []string{"README.md", "docs/configuration.md"} {
		rows := settingsRows(t, doc, readDoc(t, doc))
		if len(rows) == 0 {
			t.Errorf("%s has no settings table (| variable | default | used by | meaning |)", doc)
		}
		for _, r := range rows {
			for _, side := range r.usedBy {
				for i, v := range r.vars {
					def, ok := vars[side][v]
					switch {
					case !ok:
						t.Errorf("%s: %s is not in bin/%s -h", doc, v, side)
					case def != r.defaults[i]:
						t.Errorf("%s: %s defaults to %q in the table, %q in bin/%s -h", doc, v, r.defaults[i], def, side)
					}
				}
			}
		}
	}
}

// TestReadmeLinksResolve: every relative link in README.md and docs/*.md
// names a file that exists and, with a #fragment into a Markdown file, a
// heading of that file (GitHub's anchors).
func TestReadmeLinksResolve(t *testing.T) {
	root := repoRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		files = append(files, rel)
	}
	links := 0
	for _, f := range files {
		for _, target := range mdLinks(readDoc(t, f)) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			path, frag, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				dest = filepath.Join(filepath.Dir(f), path)
			}
			if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
				t.Errorf("%s links to %s: %v", f, target, err)
				continue
			}
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !anchors(readDoc(t, dest))[frag] {
				t.Errorf("%s links to %s: %s has no heading with the anchor #%s", f, target, dest, frag)
			}
		}
	}
	if links == 0 {
		t.Fatal("found no relative links in README.md and docs/: the link pattern no longer matches")
	}
}

// TestReadmeCitedHeadingsExist: a Go comment that points at a doc's
// section by its heading (the producer's pace, say, at performance.md's
// "Producer window") names a heading that doc has, so a renamed section
// cannot leave the code pointing nowhere.
func TestReadmeCitedHeadingsExist(t *testing.T) {
	root := repoRoot(t)
	cite := regexp.MustCompile(`docs/([a-z0-9-]+\.md), "([^"]+)"`)
	continued := regexp.MustCompile(`\n\s*//\s*`)
	cited := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range cite.FindAllStringSubmatch(continued.ReplaceAllString(string(src), " "), -1) {
			cited++
			doc := filepath.Join("docs", m[1])
			if !headings(readDoc(t, doc))[m[2]] {
				t.Errorf("%s cites %s, %q: that doc has no such heading", rel, doc, m[2])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Fatal(`no Go comment cites a doc section (docs/<doc>.md, "<heading>"): the pattern no longer matches the comments`)
	}
}

func readDoc(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// settingsRow is one row of a settings table: its variables, their
// defaults in the same order, and the binaries that read them.
type settingsRow struct {
	vars, defaults, usedBy []string
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	envName    = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
)

// settingsRows reads the table that starts with
// "| variable | default | used by |" in text.
func settingsRows(t *testing.T, doc, text string) []settingsRow {
	t.Helper()
	var rows []settingsRow
	in := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| variable | default | used by |") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		if strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Errorf("%s: settings row with %d cells: %s", doc, len(cells), line)
			continue
		}
		var r settingsRow
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			if envName.MatchString(m[1]) {
				r.vars = append(r.vars, m[1])
			}
		}
		r.defaults = tableDefaults(cells[1], len(r.vars))
		switch used := strings.TrimSpace(cells[2]); used {
		case "both":
			r.usedBy = []string{"producer", "consumer"}
		case "producer", "consumer":
			r.usedBy = []string{used}
		default:
			t.Errorf("%s: used by %q, want both, producer or consumer: %s", doc, used, line)
		}
		if len(r.vars) == 0 || len(r.defaults) != len(r.vars) {
			t.Errorf("%s: cannot pair variables %v with defaults %q: %s", doc, r.vars, cells[1], line)
			continue
		}
		rows = append(rows, r)
	}
	return rows
}

// tableDefaults splits a default cell ("`2s` / `0`", "`ORDERS`, `1`",
// "`268435456` (256 MiB)", "unset") into one default per variable: the
// backticked value of each part, or none for a part without one. One part
// without a value stands for all n variables.
func tableDefaults(cell string, n int) []string {
	parts := regexp.MustCompile(` / |, `).Split(strings.TrimSpace(cell), -1)
	var defs []string
	for _, p := range parts {
		if m := backticked.FindStringSubmatch(p); m != nil {
			defs = append(defs, m[1])
		} else {
			defs = append(defs, "")
		}
	}
	if len(defs) == 1 && defs[0] == "" {
		return make([]string, n)
	}
	return defs
}

// proseLines are a Markdown text's lines outside fenced code blocks.
func proseLines(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, line)
		}
	}
	return out
}

// mdLinks are the targets of the inline links of a Markdown text.
func mdLinks(text string) []string {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	var out []string
	for _, line := range proseLines(text) {
		for _, m := range link.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// headings are the texts of a Markdown text's headings, without the #s.
func headings(text string) map[string]bool {
	hs := map[string]bool{}
	for _, h := range headingList(text) {
		hs[h] = true
	}
	return hs
}

// headingList is headings in the order they come, repeats included.
func headingList(text string) []string {
	var hs []string
	for _, line := range proseLines(text) {
		if strings.HasPrefix(line, "#") {
			hs = append(hs, strings.TrimSpace(strings.TrimLeft(line, "#")))
		}
	}
	return hs
}

// anchors are the fragments GitHub gives a text's headings: lower case,
// spaces to hyphens, everything but letters, digits, hyphens and
// underscores dropped, and -1, -2, … on repeats.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range headingList(text) {
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		}
		seen[a]++
		out[a] = true
	}
	return out
}
