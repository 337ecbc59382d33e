package tracing

import (
	"fmt"
	"net/url"
	"strconv"
)

// knownSampler reports whether OTEL_TRACES_SAMPLER names one of the
// OpenTelemetry SDK's samplers.
func knownSampler(name string) bool {
	switch name {
	case "always_on", "always_off", "traceidratio",
		"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio":
		return true
	}
	return false
}

// Config lists the standard OTEL_* variables the OpenTelemetry SDK and its
// OTLP exporter read themselves. The services never pass these values to
// the SDK: the fields exist so that -h lists them and so that a value the
// SDK would only report on its error handler, and then ignore, stops the
// service at start naming the variable instead.
type Config struct {
	Endpoint       string `envconfig:"OTEL_EXPORTER_OTLP_ENDPOINT" desc:"OTLP/HTTP collector base URL (such as http://otel-collector:4318); spans go to its /v1/traces. Unset (with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns tracing off"`
	TracesEndpoint string `envconfig:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" desc:"full OTLP/HTTP URL for spans; overrides OTEL_EXPORTER_OTLP_ENDPOINT"`
	Protocol       string `envconfig:"OTEL_EXPORTER_OTLP_PROTOCOL" default:"http/protobuf" desc:"OTLP protocol; only http/protobuf is built in"`
	Headers        string `envconfig:"OTEL_EXPORTER_OTLP_HEADERS" desc:"key=value,... headers sent with every export (an API key, say)"`
	ServiceName    string `envconfig:"OTEL_SERVICE_NAME" desc:"service.name of the spans (default: the binary's name)"`
	Resource       string `envconfig:"OTEL_RESOURCE_ATTRIBUTES" desc:"key=value,... resource attributes added to every span"`
	Sampler        string `envconfig:"OTEL_TRACES_SAMPLER" default:"parentbased_always_on" desc:"always_on, always_off, traceidratio or their parentbased_ forms"`
	SamplerArg     string `envconfig:"OTEL_TRACES_SAMPLER_ARG" desc:"the ratio (0 to 1) of traces the traceidratio samplers keep (default 1)"`
}

// Enabled reports whether an endpoint is set: without one tracing is off.
func (c Config) Enabled() bool { return c.Endpoint != "" || c.TracesEndpoint != "" }

// Validate implements config.Validator.
func (c Config) Validate() error {
	for _, e := range []struct{ name, value string }{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", c.Endpoint},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.TracesEndpoint},
	} {
		if e.value == "" {
			continue
		}
		u, err := url.Parse(e.value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s=%q: want an http:// or https:// URL with a host", e.name, e.value)
		}
	}
	if c.Protocol != "http/protobuf" {
		return fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: only http/protobuf is supported", c.Protocol)
	}
	if !knownSampler(c.Sampler) {
		return fmt.Errorf("OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", c.Sampler)
	}
	if c.SamplerArg != "" {
		r, err := strconv.ParseFloat(c.SamplerArg, 64)
		if err != nil || r < 0 || r > 1 {
			return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", c.SamplerArg)
		}
	}
	return nil
}
