package tracing_test

import (
	"strings"
	"testing"

	"github.com/distsys-go/orders/platform/tracing"
)

func TestConfigValidate(t *testing.T) {
	ok := tracing.Config{Protocol: "http/protobuf", Sampler: "parentbased_always_on"}
	tests := []struct {
		name    string
		change  func(*tracing.Config)
		wantErr string // "" for valid
	}{
		{"defaults: tracing off", func(*tracing.Config) {}, ""},
		{"endpoint", func(c *tracing.Config) { c.Endpoint = "http://otel-collector:4318" }, ""},
		{"traces endpoint over https", func(c *tracing.Config) { c.TracesEndpoint = "https://otel.example:443/v1/traces" }, ""},
		{"endpoint without scheme", func(c *tracing.Config) { c.Endpoint = "otel-collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT="},
		{"traces endpoint without host", func(c *tracing.Config) { c.TracesEndpoint = "http:///v1/traces" }, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="},
		{"grpc protocol", func(c *tracing.Config) { c.Protocol = "grpc" }, `OTEL_EXPORTER_OTLP_PROTOCOL="grpc"`},
		{"ratio sampler", func(c *tracing.Config) { c.Sampler, c.SamplerArg = "parentbased_traceidratio", "0.25" }, ""},
		{"unknown sampler", func(c *tracing.Config) { c.Sampler = "sometimes" }, `OTEL_TRACES_SAMPLER="sometimes"`},
		{"ratio above 1", func(c *tracing.Config) { c.SamplerArg = "1.5" }, `OTEL_TRACES_SAMPLER_ARG="1.5"`},
		{"ratio below 0", func(c *tracing.Config) { c.SamplerArg = "-0.1" }, `OTEL_TRACES_SAMPLER_ARG="-0.1"`},
		{"ratio not a number", func(c *tracing.Config) { c.SamplerArg = "half" }, `OTEL_TRACES_SAMPLER_ARG="half"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
