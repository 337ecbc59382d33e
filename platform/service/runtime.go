package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/config"
	"github.com/distsys-go/orders/platform/logging"
	"github.com/distsys-go/orders/platform/natsconn"
	"github.com/distsys-go/orders/platform/ops"
	"github.com/distsys-go/orders/platform/tracing"
)

// Runtime is a started service's shared dependencies and its lifecycle:
// the wiring function registers what must be stopped (OnStop), and the
// runtime stops it, in reverse order, when the service ends.
type Runtime struct {
	Log     *slog.Logger
	Metrics *prometheus.Registry
	// Ready is /readyz: 503 until the service calls Ready.Started, and
	// again from the moment shutdown begins.
	Ready *ops.Readiness
	// Tracing is off (wraps nothing) unless OTEL_EXPORTER_OTLP_ENDPOINT is
	// set. The transport and the ledger apply it; a service only reads a
	// message's trace for its log lines (FromMessage).
	Tracing *tracing.Provider

	env    *Env
	conn   *nats.Conn
	js     natsjs.JetStream
	ops    *ops.Server
	logOut io.Closer // Log's output, written out last

	mu    sync.Mutex
	stops []stopStep
}

// stopStep is a shutdown step registered with OnStop.
type stopStep struct {
	name string
	fn   func(context.Context) error
}

// WireFunc wires a service from its loaded, validated config and runs it
// until ctx is cancelled (or, for a service with a finite job, until the
// job is done). It registers with OnStop whatever must finish at
// shutdown; it writes no shutdown code of its own.
type WireFunc[P Config] func(ctx context.Context, rt *Runtime, cfg P) error

// Command is a one-off job of a service's binary, run as its first
// argument ("consumer provision"): it reads the service's config and runs
// on the same runtime, and its wiring returns when the job is done. Set
// Run or Tool.
type Command[P Config] struct {
	Name    string
	Summary string
	// Run is a job that runs like the service: it takes no arguments and
	// serves /healthz, /readyz and /metrics while it runs.
	Run WireFunc[P]
	// Tool is a command for a person or a script: it takes the arguments
	// after its name, writes its results to standard output and logs to
	// standard error, and serves no HTTP, so that it can run beside the
	// service in the same pod (kubectl exec).
	Tool Tool[P]
}

// Tool parses a tool's arguments and returns what runs it, before
// anything connects: bad arguments fail at once and without NATS. It
// writes its usage to out and returns config.ErrHelp for -h (the runtime
// then lists the variables), and wraps a bad argument in ErrUsage.
type Tool[P Config] func(args []string, out io.Writer) (WireFunc[P], error)

// ErrUsage wraps a tool's bad argument: the process exits 2, the usual
// code of a command used wrongly, rather than 1.
var ErrUsage = errors.New("usage")

// Main runs the service: Run with a context that SIGINT and SIGTERM
// cancel, then exits with its outcome (see ExitCode). A signal that
// arrives while the service is still starting (waiting for NATS, say)
// ends it with 0 like one that arrives later: being stopped is not a
// failure. A first argument naming one of commands runs that command
// instead of the service.
func Main[C any, P interface {
	*C
	Config
}](name, version string, wire WireFunc[P], commands ...Command[P]) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	args := os.Args[1:]
	var tool Tool[P]
	if len(args) > 0 {
		for _, c := range commands {
			if args[0] == c.Name {
				name, wire, tool, args = name+"-"+c.Name, c.Run, c.Tool, args[1:]
				break
			}
		}
	}
	var err error
	switch {
	case tool != nil:
		err = runTool(ctx, name, version, args, tool)
	default:
		if len(commands) > 0 && slices.ContainsFunc(args, isHelp) {
			printCommands(os.Stdout, os.Args[0], commands)
		}
		err = Run(ctx, name, version, args, os.Stdout, wire)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	stop()
	os.Exit(ExitCode(name, err, os.Stderr))
}

// runTool parses a tool's arguments, then runs it on a runtime that logs
// to standard error and serves no HTTP. For -h it adds the variables to
// the tool's usage.
func runTool[C any, P interface {
	*C
	Config
}](ctx context.Context, name, version string, args []string, tool Tool[P]) error {
	wire, err := tool(args, os.Stdout)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprintln(os.Stdout)
		return Run(ctx, name, version, []string{"-h"}, os.Stdout, wire)
	}
	if err != nil {
		return err
	}
	cfg := P(new(C))
	rt, err := startWith(name, version, nil, os.Stderr, cfg, false)
	if err != nil {
		return err
	}
	err = wire(ctx, rt, cfg)
	return errors.Join(err, rt.shutdown())
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func printCommands[P Config](out io.Writer, binary string, commands []Command[P]) {
	fmt.Fprintf(out, "Usage: %s [command]; without a command it runs the service.\nCommands:\n", filepath.Base(binary))
	for _, c := range commands {
		fmt.Fprintf(out, "  %-12s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(out)
}

// Run loads the service's config from the environment (-h in args prints
// every variable and returns config.ErrHelp), starts the runtime, calls
// wire, and then shuts down: /readyz turns 503, the steps registered with
// OnStop run in reverse order within SHUTDOWN_GRACE, and the NATS
// connection drains.
func Run[C any, P interface {
	*C
	Config
}](ctx context.Context, name, version string, args []string, stdout io.Writer, wire WireFunc[P]) error {
	cfg := P(new(C))
	rt, err := startWith(name, version, args, stdout, cfg, true)
	if err != nil {
		return err
	}
	err = wire(ctx, rt, cfg)
	return errors.Join(err, rt.shutdown())
}

// OnStop registers a shutdown step. Steps run in the reverse order of
// their registration, each under a context that ends when SHUTDOWN_GRACE
// does; an error is reported with the step's name and does not stop the
// steps after it.
func (r *Runtime) OnStop(name string, fn func(ctx context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops = append(r.stops, stopStep{name, fn})
}

// platformEnv is the runtime's own part of the environment.
type platformEnv struct {
	nats  natsconn.Config
	http  ops.Config
	log   logging.Config
	trace tracing.Config
	gc    GC
}

// startWith loads cfg and the runtime's own variables, then logs to
// stdout, connects to NATS and, if serve, serves /healthz, /readyz and
// /metrics.
func startWith(name, version string, args []string, stdout io.Writer, cfg Config, serve bool) (*Runtime, error) {
	var pe platformEnv
	env := cfg.env()
	specs := []any{env, &pe.nats, &pe.http, &pe.log, &pe.trace, &pe.gc}
	specs = append(append(specs, parts(cfg, env)...), config.Check(cfg.Validate))
	if err := config.Load(args, stdout, specs...); err != nil {
		return nil, err
	}
	if !serve {
		quietTool(&pe.log)
	}
	instance, err := logging.Instance(env.Instance, os.Hostname)
	if err != nil {
		return nil, err
	}
	env.Instance = instance
	out := newBatchWriter(stdout)
	log := logging.New(out, pe.log, name, instance)
	pe.gc.apply(memlimit.FromCgroup, log)
	rt, err := connect(name, version, env, pe, log, serve)
	if err != nil {
		_ = out.Close() // the lines logged so far say what went wrong
		return nil, err
	}
	rt.logOut = out
	return rt, nil
}

// quietTool makes a tool's log, on standard error beside its results,
// warnings and errors only, as text, unless LOG_LEVEL or LOG_FORMAT say
// otherwise.
func quietTool(c *logging.Config) {
	if _, set := os.LookupEnv("LOG_LEVEL"); !set {
		c.Level = slog.LevelWarn
	}
	if _, set := os.LookupEnv("LOG_FORMAT"); !set {
		c.Format = logging.FormatText
	}
}

// parts returns pointers to the fields of the struct cfg points to, but
// the embedded Env: the service's own parts of the environment, in the
// order the struct declares them (the order -h lists them in).
func parts(cfg Config, env *Env) []any {
	v := reflect.ValueOf(cfg).Elem()
	var out []any
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Kind() != reflect.Struct {
			continue
		}
		if p := f.Addr().Interface(); p != any(env) {
			out = append(out, p)
		}
	}
	return out
}

// connect connects to NATS, sets up tracing and, if serve, serves the
// operational endpoints for startWith, logging to log.
func connect(name, version string, env *Env, pe platformEnv, log *slog.Logger, serve bool) (*Runtime, error) {
	reg := ops.NewRegistry()
	reg.MustRegister(ops.NewBuildInfo(version))
	log.Info("starting", "version", version, "delivery_mode", env.DeliveryMode, "nats_url", natsconn.Redact(pe.nats.URL), "subject", env.Subject)

	var natsStatus *natsconn.Status
	nc, err := natsconn.Connect(pe.nats, name+"/"+env.Instance, log, natsconn.WithMetrics(reg), natsconn.WithStatus(&natsStatus))
	if err != nil {
		return nil, err
	}
	js, err := natsjs.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	tr, err := tracing.Setup(context.Background(), pe.trace, name, version, log)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ready := ops.NewReadiness(natsStatus.Check)
	var srv *ops.Server
	if serve {
		if srv, err = ops.Listen(pe.http, ready, reg, log); err != nil {
			nc.Close()
			_ = tr.Shutdown(context.Background()) // nothing was traced yet
			return nil, err
		}
		go srv.Serve()
	}
	return &Runtime{Log: log, Metrics: reg, Ready: ready, Tracing: tr, env: env, conn: nc, js: js, ops: srv}, nil
}

// shutdown turns the service unready, runs the registered steps in
// reverse order and closes the runtime, all within SHUTDOWN_GRACE.
func (r *Runtime) shutdown() error {
	r.Ready.ShutDown()
	r.Log.Info("shutting down", "grace", r.env.ShutdownGrace.String())
	ctx, cancel := context.WithTimeout(context.Background(), r.env.ShutdownGrace)
	defer cancel()
	r.mu.Lock()
	stops := r.stops
	r.mu.Unlock()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", stops[i].name, err))
		}
	}
	return errors.Join(append(errs, r.close(ctx))...)
}

// close drains the NATS connection (flushing acks and publishes still in
// the client), stops the HTTP listener and exports the spans still
// buffered.
func (r *Runtime) close(ctx context.Context) error {
	closed := make(chan struct{})
	r.conn.SetClosedHandler(func(*nats.Conn) { close(closed) })
	var errs []error
	if err := r.conn.Drain(); err != nil {
		errs = append(errs, fmt.Errorf("drain nats: %w", err))
		r.conn.Close()
	}
	select {
	case <-closed:
	case <-ctx.Done():
		r.conn.Close()
		errs = append(errs, fmt.Errorf("drain nats: %w", ctx.Err()))
	}
	if r.ops != nil {
		if err := r.ops.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// Spans that cannot be exported are lost, not a failed shutdown: a
	// collector that is down must not turn a clean stop into exit 1.
	if err := r.Tracing.Shutdown(ctx); err != nil {
		r.Log.Warn("spans not exported", "error", err)
	}
	r.Log.Info("stopped")
	_ = r.logOut.Close()
	return errors.Join(errs...)
}

// ExitCode prints err (if any) to stderr and returns the process exit
// code: 0 for success and for -h, 2 for a tool's bad argument (ErrUsage),
// 1 otherwise.
func ExitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}
