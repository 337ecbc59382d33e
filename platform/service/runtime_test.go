package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/config"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
)

// testConfig is a service's config with one part of its own.
type testConfig struct {
	service.Env
	Own struct {
		Workers int `envconfig:"TEST_WORKERS" default:"1" desc:"a variable of the service's own"`
	}
}

// Validate is the cross-part rule: TEST_WORKERS must not be 13.
func (c testConfig) Validate() error {
	if c.Own.Workers == 13 {
		return errors.New("TEST_WORKERS=13: unlucky")
	}
	return nil
}

// serve points the runtime at a fresh in-process server (HTTP on a free
// port) with env on top, and returns the server.
func serve(t *testing.T, env ...string) *natstest.Server {
	t.Helper()
	srv := natstest.Run(t)
	t.Setenv("NATS_URL", srv.ClientURL())
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("INSTANCE", "test-1")
	for i := 0; i+1 < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	return srv
}

func run(ctx context.Context, wire service.WireFunc[*testConfig]) error {
	return service.Run(ctx, "svc", "test", nil, io.Discard, wire)
}

// Each mode's publisher and subscription reach each other, and JetStream's
// go through the stream the transport ensured.
func TestTransportModes(t *testing.T) {
	tests := []struct {
		mode   string
		stored bool // the stream exists once the transport is built
	}{
		{service.ModeJetStream, true},
		{service.ModeCore, false},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			srv := serve(t, "DELIVERY_MODE", tc.mode, "STREAM_NAME", "ORDERS", "STREAM_SUBJECTS", "orders.>")
			got := make(chan *messaging.Message, 1)
			err := run(context.Background(), func(ctx context.Context, rt *service.Runtime, cfg *testConfig) error {
				tr, err := rt.Transport(ctx)
				if err != nil {
					return err
				}
				consumer := jetstream.ConsumerConfig{AckWait: time.Minute, MaxAckPending: 10, PullMaxMessages: 4, MaxDeliver: 2}
				if err := tr.Consume(ctx, service.Consumption{Subject: cfg.Subject, Group: "workers", Consumer: consumer, Concurrency: 1},
					func(_ context.Context, m *messaging.Message) {
						_ = m.Ack()
						got <- m
					}); err != nil {
					return err
				}
				pub, err := tr.Publisher(service.WithAckTimeout(time.Minute))
				if err != nil {
					return err
				}
				if err := pub.Publish(ctx, messaging.NewMessage(cfg.Subject, "order-1", []byte("{}"))); err != nil {
					return err
				}
				// Wait here, while the service runs: once the wiring
				// returns, shutdown drains the subscription, and an order
				// not pulled yet stays in the stream.
				select {
				case m := <-got:
					if m.ID != "order-1" {
						t.Errorf("received id %q, want order-1", m.ID)
					}
					return nil
				case <-time.After(testkit.Bound):
					return errors.New("nothing received")
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			js, err := natsjs.New(srv.Connect(t))
			if err != nil {
				t.Fatal(err)
			}
			_, err = js.Stream(context.Background(), "ORDERS")
			if stored := err == nil; stored != tc.stored {
				t.Errorf("stream ORDERS exists: %v, want %v", stored, tc.stored)
			}
		})
	}
}

// Shutdown runs the registered steps in reverse order, each under the
// grace's deadline, goes on past a failed one and reports it by name.
func TestShutdownRunsStepsInReverse(t *testing.T) {
	serve(t, "SHUTDOWN_GRACE", "3s")
	var order []string
	var deadline bool
	err := run(context.Background(), func(ctx context.Context, rt *service.Runtime, _ *testConfig) error {
		for _, name := range []string{"first", "second", "third"} {
			rt.OnStop(name, func(ctx context.Context) error {
				order = append(order, name)
				_, deadline = ctx.Deadline()
				if name == "second" {
					return errors.New("boom")
				}
				return nil
			})
		}
		return nil
	})
	if got := strings.Join(order, ","); got != "third,second,first" {
		t.Errorf("steps ran as %s, want third,second,first", got)
	}
	if !deadline {
		t.Error("a step ran without the grace's deadline")
	}
	if err == nil || !strings.Contains(err.Error(), "second: boom") {
		t.Errorf("Run returned %v, want the failed step named", err)
	}
}

// The wiring's own error is returned together with shutdown's, and the
// steps registered before it still run.
func TestWireErrorStillShutsDown(t *testing.T) {
	serve(t)
	stopped := false
	err := run(context.Background(), func(_ context.Context, rt *service.Runtime, _ *testConfig) error {
		rt.OnStop("cleanup", func(context.Context) error { stopped = true; return nil })
		return errors.New("wiring failed")
	})
	if err == nil || !strings.Contains(err.Error(), "wiring failed") {
		t.Errorf("Run returned %v, want the wiring's error", err)
	}
	if !stopped {
		t.Error("the registered step did not run")
	}
}

// A bad value, a broken rule across parts, and -h, before anything
// connects.
func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in the error, or in the -h output
	}{
		{"unknown mode", []string{"DELIVERY_MODE", "carrier-pigeon"}, nil, `DELIVERY_MODE="carrier-pigeon"`},
		{"subject outside the stream", []string{"SUBJECT", "invoices.created"}, nil, `SUBJECT="invoices.created" is not captured`},
		{"core ignores the stream", []string{"DELIVERY_MODE", "core", "SUBJECT", "invoices.created"}, nil, ""},
		{"cross-part rule", []string{"TEST_WORKERS", "13"}, nil, "TEST_WORKERS=13"},
		{"help lists every part", nil, []string{"-h"}, "TEST_WORKERS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serve(t, tc.env...)
			var out bytes.Buffer
			wired := false
			err := service.Run(context.Background(), "svc", "test", tc.args, &out,
				func(context.Context, *service.Runtime, *testConfig) error { wired = true; return nil })
			switch {
			case tc.args != nil:
				if !errors.Is(err, config.ErrHelp) || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "STREAM_NAME") {
					t.Errorf("-h: %v; output lacks %s or STREAM_NAME:\n%s", err, tc.want, out.String())
				}
			case tc.want == "":
				if err != nil || !wired {
					t.Errorf("Run: %v (wired %v), want a clean run", err, wired)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tc.want) || wired {
					t.Errorf("Run: %v (wired %v), want an error with %s before wiring", err, wired, tc.want)
				}
			}
		})
	}
}

// With PROVISION=false the transport creates no stream: it waits for one,
// and /readyz says what it waits for.
func TestTransportWaitsForProvisioning(t *testing.T) {
	srv := serve(t, "PROVISION", "false", "STREAM_NAME", "ORDERS", "STREAM_SUBJECTS", "orders.>")
	err := run(context.Background(), func(ctx context.Context, rt *service.Runtime, cfg *testConfig) error {
		built := make(chan error, 1)
		go func() {
			_, err := rt.Transport(ctx)
			built <- err
		}()
		testkit.Eventually(t, "/readyz says the stream is not provisioned", testkit.Bound, func() (bool, string) {
			err := rt.Ready.Check()
			return err != nil && strings.Contains(err.Error(), "stream ORDERS does not exist yet; PROVISION=false"), errText(err)
		})
		js, err := natsjs.New(srv.Connect(t))
		if err != nil {
			return err
		}
		if _, err := jetstream.EnsureStream(ctx, js, cfg.StreamConfig); err != nil {
			return err
		}
		if err := testkit.Await(t, "the transport, once the stream exists", testkit.Bound, func() (bool, string) {
			select {
			case err := <-built:
				if err != nil {
					t.Errorf("transport: %v", err)
				}
				return true, ""
			default:
				return false, "waiting"
			}
		}); err != nil {
			return err
		}
		rt.Ready.Started()
		return rt.Ready.Check()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestExitCode: success and -h exit 0, a tool's bad argument 2, anything
// else 1, each failure printed as one line naming the command.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		line string
	}{
		{nil, 0, ""},
		{fmt.Errorf("deadletters: %w", config.ErrHelp), 0, ""},
		{fmt.Errorf("%w: --rate=0: want 1 to 1000", service.ErrUsage), 2, "consumer-deadletters: usage: --rate=0: want 1 to 1000\n"},
		{errors.New("stream ORDERS: not found"), 1, "consumer-deadletters: stream ORDERS: not found\n"},
	} {
		var stderr strings.Builder
		if code := service.ExitCode("consumer-deadletters", tc.err, &stderr); code != tc.code || stderr.String() != tc.line {
			t.Errorf("ExitCode(%v) = %d, printed %q; want %d, %q", tc.err, code, stderr.String(), tc.code, tc.line)
		}
	}
}
