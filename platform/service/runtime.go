package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/config"
	"github.com/distsys-go/orders/platform/logging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/natsconn"
	"github.com/distsys-go/orders/platform/ops"
	"github.com/distsys-go/orders/platform/tracing"
)

// Runtime is a started service's shared dependencies.
type Runtime struct {
	Settings  Settings
	Log       *slog.Logger
	Metrics   *prometheus.Registry
	Conn      *nats.Conn
	JetStream natsjs.JetStream
	Ready     *ops.Readiness
	// Tracing wraps the service's publishers, handlers and ledger; it is
	// off (wraps nothing) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
	Tracing *tracing.Provider

	ops    *ops.Server
	logOut io.Closer // Log's output, written out by Close
}

// Start reads and validates the settings (Settings, NATS, HTTP, logging,
// then the service's own specs, then its Checks), connects to NATS and
// serves /healthz, /readyz and /metrics. /readyz answers 503 until the
// service calls Ready.Started.
// It returns config.ErrHelp after printing the variables for -h.
func Start(name, version string, args []string, stdout io.Writer, specs ...any) (*Runtime, error) {
	var env environment
	all := []any{&env.settings, &env.nats, &env.http, &env.log, &env.trace, &env.gc}
	for _, spec := range specs {
		if check, ok := spec.(Check); ok {
			spec = config.Check(func() error { return check(env.settings) })
		}
		all = append(all, spec)
	}
	if err := config.Load(args, stdout, all...); err != nil {
		return nil, err
	}
	instance, err := logging.Instance(env.settings.Instance, os.Hostname)
	if err != nil {
		return nil, err
	}
	env.settings.Instance = instance
	out := newBatchWriter(stdout)
	log := logging.New(out, env.log, name, instance)
	env.gc.apply(memlimit.FromCgroup, log)
	rt, err := connect(name, version, env, log)
	if err != nil {
		_ = out.Close() // the lines logged so far say what went wrong
		return nil, err
	}
	rt.logOut = out
	return rt, nil
}

// environment is the shared part of a service's environment.
type environment struct {
	settings Settings
	nats     natsconn.Config
	http     ops.Config
	log      logging.Config
	trace    tracing.Config
	gc       GC
}

// connect connects to NATS and serves the operational endpoints for
// Start, logging to log.
func connect(name, version string, env environment, log *slog.Logger) (*Runtime, error) {
	settings, natsCfg := env.settings, env.nats
	reg := ops.NewRegistry()
	reg.MustRegister(ops.NewBuildInfo(version))
	log.Info("starting", "version", version, "delivery_mode", settings.DeliveryMode, "nats_url", natsconn.Redact(natsCfg.URL), "subject", settings.Subject)

	var natsStatus *natsconn.Status
	nc, err := natsconn.Connect(natsCfg, name+"/"+settings.Instance, log, natsconn.WithMetrics(reg), natsconn.WithStatus(&natsStatus))
	if err != nil {
		return nil, err
	}
	js, err := natsjs.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	tr, err := tracing.Setup(context.Background(), env.trace, name, version, log)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ready := ops.NewReadiness(natsStatus.Check)
	srv, err := ops.Listen(env.http, ready, reg, log)
	if err != nil {
		nc.Close()
		_ = tr.Shutdown(context.Background()) // nothing was traced yet
		return nil, err
	}
	go srv.Serve()
	return &Runtime{Settings: settings, Log: log, Metrics: reg, Conn: nc, JetStream: js, Ready: ready, Tracing: tr, ops: srv}, nil
}

// GraceContext returns the context shutdown runs under: SHUTDOWN_GRACE
// from now, independent of the (already cancelled) run context.
func (r *Runtime) GraceContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.Settings.ShutdownGrace)
}

// Close drains the NATS connection (flushing acks and publishes still in
// the client), stops the HTTP listener and exports the spans still
// buffered. Call it after the service stopped its own work.
func (r *Runtime) Close(ctx context.Context) error {
	closed := make(chan struct{})
	r.Conn.SetClosedHandler(func(*nats.Conn) { close(closed) })
	var errs []error
	if err := r.Conn.Drain(); err != nil {
		errs = append(errs, fmt.Errorf("drain nats: %w", err))
		r.Conn.Close()
	}
	select {
	case <-closed:
	case <-ctx.Done():
		r.Conn.Close()
		errs = append(errs, fmt.Errorf("drain nats: %w", ctx.Err()))
	}
	if err := r.ops.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	// Spans that cannot be exported are lost, not a failed shutdown: a
	// collector that is down must not turn a clean stop into exit 1.
	if err := r.Tracing.Shutdown(ctx); err != nil {
		r.Log.Warn("spans not exported", "error", err)
	}
	r.Log.Info("stopped")
	if r.logOut != nil {
		_ = r.logOut.Close()
	}
	return errors.Join(errs...)
}

// Stop closes the runtime within SHUTDOWN_GRACE; for paths that have no
// work of their own to finish first.
func (r *Runtime) Stop() error {
	ctx, cancel := r.GraceContext()
	defer cancel()
	return r.Close(ctx)
}

// RunFunc is a service's body: it runs until ctx is cancelled.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer) error

// Main runs run with a context that SIGINT and SIGTERM cancel, and exits
// the process with its outcome (see ExitCode). A signal that arrives while
// the service is still starting (waiting for NATS, say) ends it with 0 like
// one that arrives later: being stopped is not a failure.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	stop()
	os.Exit(ExitCode(name, err, os.Stderr))
}

// EnsureStream ensures the stream, retrying until it exists or ctx ends:
// NATS may start after the service. A stream no retry can fix (another
// retention policy) ends it at once with that error, so the service exits
// saying what to do instead of retrying silently for ever.
func (r *Runtime) EnsureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	return Retry(ctx, r.Log, "ensure stream", func(ctx context.Context) error {
		_, err := jetstream.EnsureStream(ctx, r.JetStream, cfg)
		if errors.Is(err, jetstream.ErrRetentionChange) {
			return Stop(err)
		}
		return err
	})
}

// ExitCode prints err (if any) to stderr and returns the process exit
// code: 0 for success and for -h, 1 otherwise.
func ExitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}
