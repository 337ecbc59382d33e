//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startAPIProxy runs `kubectl proxy` on a random local port for the whole
// run and returns its address. The scenarios poll the API server several
// times a second (pods, their /metrics, the deployment, the HPA, KEDA's
// metric); a kubectl process per poll cost about 0.2 s of CPU each, most of
// a core on a two-core machine, taken from the cluster under test and from
// the builds running beside the e2e. Through the proxy a poll is one HTTP
// request. Commands that change things still run kubectl.
func startAPIProxy(t *testing.T, kubectl string) string {
	t.Helper()
	cmd := exec.Command(kubectl, "proxy", "--address=127.0.0.1", "--port=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl proxy: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// "Starting to serve on 127.0.0.1:41327"
			if _, a, ok := strings.Cut(sc.Text(), "Starting to serve on "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("kubectl proxy exited before it served")
		}
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl proxy: no address within 30s")
	}
	return ""
}

// get GETs path (with its query) from the API server through the proxy,
// within 10s: what `kubectl get --raw path` prints.
func (e env) get(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.api+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return "", fmt.Errorf("GET %s: %w", path, err)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// nsPath is the API path of the namespace's resource (kind as in the URL:
// "pods", "pods/NAME") in group/version ("v1", "apps/v1"), with labels as
// its label selector when not empty.
func (e env) nsPath(groupVersion, resource, labels string) string {
	prefix := "/apis/"
	if groupVersion == "v1" {
		prefix = "/api/"
	}
	p := prefix + groupVersion + "/namespaces/" + e.namespace + "/" + resource
	if labels != "" {
		p += "?labelSelector=" + url.QueryEscape(labels)
	}
	return p
}
