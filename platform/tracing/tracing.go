// Package tracing gives the services OpenTelemetry traces, one per order
// from its publish to its ledger write, without tracing code in the
// transports or the business logic: decorators over the messaging SDK's
// Publisher and Handler and over the Ledger start the spans and carry the
// W3C trace context in the message headers, which every transport keeps.
//
// The OTLP exporter and the sampler are configured only by the standard
// OTEL_* variables, which the OpenTelemetry SDK reads itself (see Config).
// With no endpoint set, Setup installs nothing and the decorators return
// what they are given: tracing off costs nothing.
package tracing

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation names the tracer, as OpenTelemetry asks of libraries.
const instrumentation = "github.com/distsys-go/orders/platform/tracing"

// Provider is a process's tracing. The zero Provider, and a nil one, are
// tracing off.
type Provider struct {
	tracer   trace.Tracer // nil: off
	prop     propagation.TextMapPropagator
	shutdown func(context.Context) error
}

// New returns a Provider whose spans come from tp; for tests, and for
// programs that build their own TracerProvider. Setup is the usual way.
func New(tp trace.TracerProvider) *Provider {
	return &Provider{tracer: tp.Tracer(instrumentation), prop: propagation.TraceContext{}}
}

// Setup returns tracing off when cfg has no endpoint. Otherwise it
// returns a Provider exporting over OTLP/HTTP in batches, configured by the
// OTEL_* variables, whose resource is service (or OTEL_SERVICE_NAME) at
// version. Export errors are logged to log. Call Shutdown to flush.
func Setup(ctx context.Context, cfg Config, service, version string, log *slog.Logger) (*Provider, error) {
	if !cfg.Enabled() {
		return &Provider{}, nil
	}
	// WithFromEnv comes last so that OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES override the binary's own name. The
	// resource comes first: nothing is left to shut down if it fails.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	// Without this the SDK writes export failures to stderr, unstructured.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: export failed", "error", err)
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	log.Info("tracing", "endpoint", cfg.endpoint(), "sampler", cfg.Sampler, "sampler_arg", cfg.SamplerArg)
	p := New(tp)
	p.shutdown = tp.Shutdown
	return p, nil
}

// Enabled reports whether the Provider records spans.
func (p *Provider) Enabled() bool { return p != nil && p.tracer != nil }

// Shutdown exports the spans still buffered, within ctx, and stops
// exporting. Tracing off has nothing to flush.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.shutdown == nil {
		return nil
	}
	if err := p.shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flush spans: %w", err)
	}
	return nil
}

// endpoint is where spans go, for the start-up log line.
func (c Config) endpoint() string {
	if c.TracesEndpoint != "" {
		return c.TracesEndpoint
	}
	return c.Endpoint
}
