package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	for _, key := range []string{"nats.cluster", "nats.auth.password", "imagePullSecrets", "consumer.topologySpreadConstraints", "nats.jetstream.storage.retainOnUninstall"} {
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
