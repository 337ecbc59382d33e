package systemtest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

func TestHelpAndBadSettings(t *testing.T) {
	tests := []struct {
		bin      string
		args     []string
		env      []string
		wantCode int
		want     []string // in stdout for 0, in stderr otherwise
	}{
		{"producer", []string{"-h"}, nil, 0, []string{"NATS_URL", "DELIVERY_MODE", "PUBLISH_INTERVAL", "PUBLISH_RATE", "PUBLISH_COUNT", "PUBLISH_MAX_IN_FLIGHT", "VERIFY_TIMEOUT", "HTTP_ADDR", "STREAM_NAME", "2s"}},
		{"consumer", []string{"-h"}, nil, 0, []string{"NATS_URL", "QUEUE_GROUP", names.Durable, "ACK_WAIT", "DEDUP_BUCKET", "DEAD_LETTER_SUBJECT", "SHUTDOWN_GRACE", "MAX_DELIVER"}},
		{"producer", []string{"-h"}, nil, 0, []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER_ARG"}},
		{"consumer", []string{"-h"}, nil, 0, []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER_ARG"}},
		{"producer", nil, []string{"PUBLISH_RATE=fast"}, 1, []string{"PUBLISH_RATE"}},
		{"producer", nil, []string{"PUBLISH_COUNT=-1"}, 1, []string{"PUBLISH_COUNT"}},
		{"consumer", nil, []string{"ACK_WAIT=soon"}, 1, []string{"ACK_WAIT"}},
		{"consumer", nil, []string{"DELIVERY_MODE=carrier-pigeon"}, 1, []string{"DELIVERY_MODE"}},
		{"consumer", []string{"--port=1"}, nil, 1, []string{"environment variables only"}},
		// Values that parse but cannot work stop the service before it
		// listens or connects, naming the variable.
		{"producer", nil, []string{"PUBLISH_RATE=-1"}, 1, []string{"PUBLISH_RATE=-1: must not be negative"}},
		{"producer", nil, []string{"PUBLISH_MAX_IN_FLIGHT=0"}, 1, []string{"PUBLISH_MAX_IN_FLIGHT=0: want 1 to 4000"}},
		{"producer", nil, []string{"PUBLISH_MAX_IN_FLIGHT=4001"}, 1, []string{"PUBLISH_MAX_IN_FLIGHT=4001: want 1 to 4000"}},
		{"producer", nil, []string{"SUBJECT=billing.created"}, 1, []string{`SUBJECT="billing.created" is not captured by STREAM_SUBJECTS=orders.>`}},
		{"producer", nil, []string{"NATS_URL="}, 1, []string{"NATS_URL"}},
		{"consumer", nil, []string{"MAX_PAYLOAD_BYTES=-5"}, 1, []string{"MAX_PAYLOAD_BYTES=-5"}},
		{"consumer", nil, []string{"PULL_MAX_MESSAGES=0"}, 1, []string{"PULL_MAX_MESSAGES=0"}},
		{"consumer", nil, []string{"MAX_DELIVER=0"}, 1, []string{"MAX_DELIVER=0: must be at least 1"}},
		{"consumer", nil, []string{"CONCURRENCY=0"}, 1, []string{"CONCURRENCY=0"}},
		{"consumer", nil, []string{"QUEUE_GROUP=a.b"}, 1, []string{`QUEUE_GROUP="a.b"`}},
		{"consumer", nil, []string{"STREAM_MAX_AGE=-1h"}, 1, []string{"STREAM_MAX_AGE=-1h"}},
		{"consumer", nil, []string{"SUBJECT=orders.*"}, 1, []string{`SUBJECT="orders.*": has a wildcard`}},
		{"consumer", nil, []string{"DEAD_LETTER_SUBJECT=dead.orders"}, 1, []string{`DEAD_LETTER_SUBJECT="dead.orders" is not captured`}},
		{"consumer", nil, []string{"DEAD_LETTER_SUBJECT=orders.created"}, 1, []string{"must differ from the v1 subject"}},
		{"producer", []string{"-h"}, nil, 0, []string{"EVENT_VERSION", "ORDER_CURRENCY"}},
		{"consumer", []string{"-h"}, nil, 0, []string{"CONSUME_VERSIONS", "v1,v2"}},
		{"producer", nil, []string{"EVENT_VERSION=v3"}, 1, []string{`EVENT_VERSION="v3": unknown event version "v3": want one of v1, v2`}},
		{"producer", nil, []string{"ORDER_CURRENCY=euro"}, 1, []string{`ORDER_CURRENCY="euro"`}},
		{"producer", nil, []string{"EVENT_VERSION=v2", "STREAM_SUBJECTS=orders.created,orders.deadletter"}, 1, []string{"EVENT_VERSION=v2 publishes on orders.created.v2, which STREAM_SUBJECTS=orders.created,orders.deadletter does not capture"}},
		{"consumer", nil, []string{"CONSUME_VERSIONS=v1,v9"}, 1, []string{`CONSUME_VERSIONS="v1,v9": unknown event version "v9"`}},
		{"consumer", nil, []string{"DEDUP_TTL=10m"}, 1, []string{"DEDUP_TTL=10m0s is shorter than MAX_DELIVER=20 x (ACK_WAIT=30s + 30s) + STREAM_DUPLICATE_WINDOW=2m0s = 22m0s"}},
		{"consumer", nil, []string{"DEDUP_MAX_BYTES=512"}, 1, []string{"DEDUP_MAX_BYTES=512"}},
		{"producer", nil, []string{"STREAM_MAX_BYTES=256"}, 1, []string{"STREAM_MAX_BYTES=256"}},
		{"consumer", nil, []string{"HTTP_ADDR=8080"}, 1, []string{`HTTP_ADDR="8080"`}},
		{"consumer", nil, []string{"OTEL_TRACES_SAMPLER_ARG=2"}, 1, []string{`OTEL_TRACES_SAMPLER_ARG="2": want a ratio from 0 to 1`}},
		{"producer", nil, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318"}, 1, []string{`OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318"`}},
		{"producer", nil, []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}, 1, []string{`OTEL_EXPORTER_OTLP_PROTOCOL="grpc"`}},
	}
	for _, tc := range tests {
		t.Run(tc.bin+" "+strings.Join(append(tc.args, tc.env...), " "), func(t *testing.T) {
			cmd := exec.Command(bins[tc.bin], tc.args...)
			cmd.Env = append([]string{"NATS_URL=nats://127.0.0.1:1", "HTTP_ADDR=127.0.0.1:0"}, tc.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", got, tc.wantCode, stderr.String())
			}
			out := stdout.String()
			if tc.wantCode != 0 {
				out = stderr.String()
				if stdout.Len() > 0 {
					t.Errorf("started before rejecting its settings (stdout: %s)", stdout.String())
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestJetStreamOrdersFlowExactlyOnce(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1"))
	c2 := start(t, "consumer", env(srv.ClientURL(), "c2"))
	prod := start(t, "producer", env(srv.ClientURL(), "p1", "PUBLISH_INTERVAL=0", "PUBLISH_COUNT=200", "VERIFY_TIMEOUT=60s"))
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	published := audit.PublishedIDs(prod)
	if len(published) != 200 {
		t.Fatalf("producer logged %d published orders, want 200", len(published))
	}
	testkit.Eventually(t, "every order's log line is written", testkit.Bound, func() (bool, string) {
		n := len(audit.ProcessedBy(c1, c2))
		return n == 200, fmt.Sprintf("%d distinct orders logged as received", n)
	})
	requireExactlyOnce(t, readAudit(t, srv), published, c1, c2)
	for _, c := range []*testkit.Proc{c1, c2} {
		if code := c.Terminate(t); code != 0 {
			t.Errorf("%s exit %d after SIGTERM: %s", c.Name, code, c.Stderr())
		}
	}
}

func TestCoreQueueGroupSplitsOrders(t *testing.T) {
	srv := natstest.Run(t)
	core := "DELIVERY_MODE=core"
	consumers := []*testkit.Proc{
		start(t, "consumer", env(srv.ClientURL(), "c1", core, "WORK_TIME=5ms")),
		start(t, "consumer", env(srv.ClientURL(), "c2", core, "WORK_TIME=5ms")),
		start(t, "consumer", env(srv.ClientURL(), "c3", core, "WORK_TIME=5ms")),
	}
	for _, c := range consumers {
		c.WaitReady(t) // core NATS keeps nothing for late subscribers
	}
	prod := start(t, "producer", env(srv.ClientURL(), "p1", core, "PUBLISH_INTERVAL=2ms", "PUBLISH_COUNT=90", "VERIFY_TIMEOUT=60s"))
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	published := audit.PublishedIDs(prod)
	testkit.Eventually(t, "every order's log line is written", testkit.Bound, func() (bool, string) {
		n := len(audit.ProcessedBy(consumers...))
		return n == len(published), fmt.Sprintf("%d distinct orders logged as received", n)
	})
	by := audit.ProcessedBy(consumers...)
	perInstance := map[string]int{}
	for _, id := range published {
		if len(by[id]) != 1 {
			t.Errorf("order %s processed by %v, want exactly one consumer", id, by[id])
			continue
		}
		perInstance[by[id][0]]++
	}
	if len(perInstance) < 2 {
		t.Errorf("queue group did not split the work: %v", perInstance)
	}
}

func TestSIGTERMDuringStreamLosesNothing(t *testing.T) {
	srv := natstest.Run(t)
	slow := "WORK_TIME=5ms"
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", slow))
	c2 := start(t, "consumer", env(srv.ClientURL(), "c2", slow))
	counted := start(t, "producer", env(srv.ClientURL(), "p-count", "PUBLISH_RATE=200", "PUBLISH_COUNT=400", "VERIFY_TIMEOUT=60s"))
	endless := start(t, "producer", env(srv.ClientURL(), "p-endless", "PUBLISH_RATE=100"))

	testkit.Eventually(t, "c1 is processing", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("received order"))
		return n >= 20, fmt.Sprintf("%d orders logged as received", n)
	})
	if code := c1.Terminate(t); code != 0 {
		t.Fatalf("c1 exit %d after SIGTERM: %s", code, c1.Stderr())
	}
	c3 := start(t, "consumer", env(srv.ClientURL(), "c3", slow))
	testkit.Eventually(t, "the endless producer published", testkit.Bound, func() (bool, string) {
		n := len(endless.Logged("published order"))
		return n >= 50, fmt.Sprintf("%d orders logged as published", n)
	})
	if code := endless.Terminate(t); code != 0 {
		t.Fatalf("producer exit %d after SIGTERM: %s", code, endless.Stderr())
	}
	if code := counted.Wait(t); code != 0 {
		t.Fatalf("counted producer exit %d: %s", code, counted.Stderr())
	}
	published := audit.PublishedIDs(counted, endless)
	// Every published id, not a count: an order stored while its producer
	// was stopped, never logged as published, must not stand in for one.
	testkit.Eventually(t, "every published order is processed", testkit.Bound, func() (bool, string) {
		return missing(published, c1, c2, c3)
	})
	requireExactlyOnce(t, readAudit(t, srv), published, c1, c2, c3)
}

func TestReconnectAfterServerRestart(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1"))
	prod := start(t, "producer", env(srv.ClientURL(), "p1", "PUBLISH_RATE=100", "PUBLISH_COUNT=300", "VERIFY_TIMEOUT=60s"))
	testkit.Eventually(t, "orders flow", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("received order"))
		return n >= 50, fmt.Sprintf("%d orders logged as received", n)
	})
	srv.Restart(t)
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	if len(prod.Logged("nats reconnected")) == 0 {
		t.Errorf("%s never logged a reconnect", prod.Name)
	}
	// c1 reconnects on its own schedule, unlike the producer that exited.
	testkit.Eventually(t, "c1 logs its reconnect", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("nats reconnected"))
		return n > 0, fmt.Sprintf("%d reconnects logged", n)
	})
	published := audit.PublishedIDs(prod)
	testkit.Eventually(t, "every order's log line is written", testkit.Bound, func() (bool, string) {
		return missing(published, c1)
	})
	requireExactlyOnce(t, readAudit(t, srv), published, c1)
}

func TestBadMessagesAreDeadLettered(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", "MAX_PAYLOAD_BYTES=1024"))
	addr := c1.WaitReady(t)
	nc := srv.Connect(t)
	bad := []struct{ data, reason string }{
		{`{"id": "order-1",`, "malformed"},
		{`{"id":"order-2","product_id":7,"quantity":"two","created_at":"2026-11-25T08:00:00Z"}`, "malformed"},
		{`{"id":"order-3"}`, "invalid"},
		{`{"id":"order-4","pad":"` + strings.Repeat("x", 2048) + `"}`, "oversized"},
	}
	for _, b := range bad {
		rawPublish(t, nc, names.Orders, []byte(b.data))
	}
	rawPublish(t, nc, names.Orders, []byte(`{"id":"order-good","product_id":"sku-1","quantity":1,"created_at":"2026-11-25T08:00:00Z"}`))
	testkit.Eventually(t, "the good order after the bad ones is processed", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("received order"))
		return n == 1, fmt.Sprintf("%d orders logged as received", n)
	})

	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Handlers run concurrently, so dead letters may come in any order.
	var dead map[uint64]*natsjs.RawStreamMsg
	testkit.Eventually(t, "every bad message is dead-lettered", testkit.Bound, func() (bool, string) {
		dead = deadLetters(t, js)
		return len(dead) == len(bad), fmt.Sprintf("%d dead letters", len(dead))
	})
	reasons := map[string]string{} // payload -> reason header
	for _, m := range dead {
		reasons[string(m.Data)] = m.Header.Get("Orders-Dead-Letter-Reason")
	}
	for _, b := range bad {
		if got := reasons[b.data]; got != b.reason {
			t.Errorf("dead letter of %.30q: reason %q, want %q", b.data, got, b.reason)
		}
	}
	// A counter goes up once its dead letter is stored, a moment after.
	wantMetrics(t, addr, `orders_dead_lettered_total{reason="malformed"} 2`, `orders_dead_lettered_total{reason="invalid"} 1`,
		`orders_dead_lettered_total{reason="oversized"} 1`, "orders_processed_total 1")
}

func TestShutdownTurnsUnreadyAndFinishesWorkInHand(t *testing.T) {
	srv := natstest.Run(t)
	// The order in hand takes WORK_TIME: the window in which /readyz must
	// already say 503.
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", "WORK_TIME=4s", "CONCURRENCY=1"))
	addr := c1.WaitReady(t)
	rawPublish(t, srv.Connect(t), names.Orders, []byte(`{"id":"order-held","product_id":"sku-1","quantity":1,"created_at":"2026-11-25T08:00:00Z"}`))
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the order in the consumer's hands (num_ack_pending 1)", testkit.Bound, func() (bool, string) {
		i, err := durable(js)
		if err != nil {
			return false, err.Error()
		}
		return i.NumAckPending == 1, fmt.Sprintf("num_ack_pending %d", i.NumAckPending)
	})
	c1.Signal(t, syscall.SIGTERM)
	testkit.Eventually(t, "/readyz answers 503 while draining", testkit.Bound, func() (bool, string) {
		code := testkit.Status(addr, "/readyz")
		return code == 503, fmt.Sprintf("status %d", code)
	})
	if code := c1.Wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, c1.Stderr())
	}
	if got := audit.ProcessedBy(c1)["order-held"]; len(got) != 1 {
		t.Fatalf("order in hand processed %d times before exit, want 1", len(got))
	}
	// The server applies acks from a queue of its own: wait for it.
	testkit.Eventually(t, "nothing pending or unacknowledged after shutdown", testkit.Bound, func() (bool, string) {
		i, err := durable(js)
		if err != nil {
			return false, err.Error()
		}
		return i.NumAckPending == 0 && i.NumPending == 0, fmt.Sprintf("num_ack_pending %d, num_pending %d", i.NumAckPending, i.NumPending)
	})
}

// A replica stopped while it still waits for NATS (a pod deleted during a
// NATS outage) exits 0 like one stopped later: being stopped is no failure.
func TestStopWhileWaitingForNATS(t *testing.T) {
	noNATS := fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePort(t))
	for _, bin := range []string{"producer", "consumer"} {
		t.Run(bin, func(t *testing.T) {
			p := start(t, bin, env(noNATS, bin+"-1"))
			p.Addr(t) // started, now retrying the connection
			if code := p.Terminate(t); code != 0 {
				t.Fatalf("exit %d after SIGTERM while waiting for NATS, want 0; stderr: %s", code, p.Stderr())
			}
		})
	}
}

// /readyz tells why a replica cannot consume while its durable is gone
// (deleted with the stream, so it cannot be recreated) and turns ready
// again by itself once the durable can be recreated.
func TestReadyzFollowsTheDurable(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1"))
	addr := c1.WaitReady(t)
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Bound)
	defer cancel()
	stream, err := js.Stream(ctx, names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if err := js.DeleteStream(ctx, names.Stream); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "/readyz 503 naming the consumer and why", testkit.Bound, func() (bool, string) {
		code, body := testkit.Get(addr, "/readyz")
		return code == 503 && strings.Contains(body, "consumer fulfilment-workers") && strings.Contains(body, "stream not found"),
			fmt.Sprintf("%d %q", code, body)
	})
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "/readyz 200 after recovery", testkit.Bound, func() (bool, string) {
		code, body := testkit.Get(addr, "/readyz")
		return code == 200, fmt.Sprintf("%d %q", code, body)
	})
	rawPublish(t, srv.Connect(t), names.Orders, []byte(`{"id":"order-after","product_id":"sku-1","quantity":1,"created_at":"2026-11-25T08:00:00Z"}`))
	testkit.Eventually(t, "the order published after recovery is processed", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("received order"))
		return n == 1, fmt.Sprintf("%d received", n)
	})
	// Each version's durable went with the stream. Each loop hears of the
	// deletion from its waiting pull request, or from the pull it sends
	// next finding nobody to answer it.
	stalls := c1.Logged("jetstream consume stalled; restarting")
	byReason, durables := map[string]int{}, map[string]bool{}
	for _, s := range stalls {
		byReason[s.String("reason")]++
		durables[s.String("consumer")] = true
	}
	if len(stalls) != len(names.Durables()) || len(durables) != len(stalls) || byReason["consumer_deleted"]+byReason["no_responders"] != len(stalls) {
		t.Fatalf("stalls logged %v, want one for each deleted durable %v", stalls, names.Durables())
	}
	m := testkit.Metrics(t, addr)
	wants := []string{fmt.Sprintf("orders_consume_recoveries_total %d", len(stalls))}
	for reason, n := range byReason {
		wants = append(wants, fmt.Sprintf("orders_consume_stalls_total{reason=%q} %d", reason, n))
	}
	for _, want := range wants {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
