package natsconn_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/natsconn"
)

func TestStatusSaysWhyNATSIsUnreachable(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	srv.Shutdown()
	srv.WaitForShutdown()

	var logs testkit.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	var status *natsconn.Status
	cfg := natsconn.Config{URL: url, ReconnectWait: 20 * time.Millisecond, Security: natsconn.Security{User: "u", Password: "secret"}}
	nc, err := natsconn.Connect(cfg, "test", log, natsconn.WithStatus(&status))
	if err != nil {
		t.Fatalf("Connect must not wait for the server: %v", err)
	}
	t.Cleanup(nc.Close)

	testkit.Eventually(t, "the status names the URL and the failed attempts", testkit.Bound, func() (bool, string) {
		err := status.Check()
		return errors.Is(err, natsconn.ErrNotConnected) && strings.Contains(err.Error(), "unreachable") &&
			strings.Contains(err.Error(), url[len("nats://"):]) && strings.Contains(err.Error(), "refused"), ""
	})
	testkit.Eventually(t, "the failed attempts are logged with the URL", testkit.Bound, func() (bool, string) {
		return strings.Contains(logs.String(), `"msg":"nats unreachable; retrying"`), ""
	})
	if got := logs.String(); strings.Contains(got, "secret") || !strings.Contains(got, `"msg":"connecting to nats"`) {
		t.Errorf("logs must say what is tried without the password:\n%s", got)
	}

	srv.Restart(t)
	testkit.Eventually(t, "connected once the server is up", testkit.Bound, func() (bool, string) { return status.Check() == nil, "" })
	testkit.Eventually(t, "the connect is logged", testkit.Bound, func() (bool, string) { return strings.Contains(logs.String(), `"msg":"nats connected"`), "" })
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://u:pw@a:4222, nats://b:4222", "nats://u:xxxxx@a:4222,nats://b:4222"},
	}
	for _, tc := range tests {
		if got := natsconn.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
