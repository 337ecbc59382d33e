package testkit

import (
	"fmt"
	"io"
	"net/http"
)

// Addr is the address the current run's HTTP listener (/healthz, /readyz,
// /metrics) bound, read from its "ops endpoints listening" log line, so
// tests can give HTTP_ADDR=127.0.0.1:0.
func (p *Proc) Addr(t TB) string {
	t.Helper()
	var addr string
	Eventually(t, p.Name+" logs its HTTP address", Bound, func() (bool, string) {
		recs := p.logged("ops endpoints listening", true)
		if len(recs) > 0 {
			addr = recs[0].String("addr")
		}
		return addr != "", fmt.Sprintf("no such line among %d of the current run", p.runLines())
	})
	return addr
}

// WaitReady waits until the current run's /readyz answers 200 and returns
// its HTTP address.
func (p *Proc) WaitReady(t TB) string {
	t.Helper()
	addr := p.Addr(t)
	Eventually(t, p.Name+" /readyz 200", Bound, func() (bool, string) {
		code := Status(addr, "/readyz")
		return code == http.StatusOK, fmt.Sprintf("status %d (0: no answer)", code)
	})
	return addr
}

// Status is the HTTP status of GET addr+path, 0 when nothing answered.
func Status(addr, path string) int {
	code, _ := Get(addr, path)
	return code
}

// Get returns the HTTP status and body of GET addr+path; status 0 when
// nothing answered. /readyz's body says why a replica is not ready.
func Get(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Metrics returns the /metrics text at addr.
func Metrics(t TB, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics of %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("metrics of %s: %v", addr, err)
	}
	return string(b)
}
