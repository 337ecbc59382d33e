package ops_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/ops"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestEndpointsFollowReadiness(t *testing.T) {
	var natsDown error
	ready := ops.NewReadiness(func() error { return natsDown })
	reg := ops.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	srv, err := ops.Listen(ops.Config{Addr: "127.0.0.1:0"}, ready, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.Addr().String()

	steps := []struct {
		name       string
		act        func()
		wantStatus int
		wantBody   string
	}{
		{"nats down during start-up", func() { natsDown = errors.New("nats unreachable") }, 503, "nats unreachable"},
		{"before start-up completes", func() { natsDown = nil }, 503, "starting"},
		{"started and connected", ready.Started, 200, "ready"},
		{"nats lost", func() { natsDown = errors.New("nats RECONNECTING") }, 503, "RECONNECTING"},
		{"nats back", func() { natsDown = nil }, 200, "ready"},
		{"shutdown begins", ready.ShutDown, 503, "shutting down"},
	}
	for _, st := range steps {
		st.act()
		code, body := get(t, base+"/readyz")
		if code != st.wantStatus || !strings.Contains(body, st.wantBody) {
			t.Errorf("%s: /readyz %d %q, want %d containing %q", st.name, code, body, st.wantStatus, st.wantBody)
		}
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz %d while shutting down, want 200 (alive)", code)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "orders_test_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics %d lacks our counter or the Go collector:\n%.300s", code, body)
	}
}
