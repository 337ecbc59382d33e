package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/distsys-go/orders/platform/logging"
)

func TestTraceIDs(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	tests := []struct {
		name            string
		log             func(*slog.Logger)
		traceID, spanID string
	}{
		{"traced context", func(l *slog.Logger) { l.InfoContext(traced, "received order") }, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"through With", func(l *slog.Logger) { l.With("order_id", "o-1").WarnContext(traced, "received order") }, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"untraced context", func(l *slog.Logger) { l.InfoContext(context.Background(), "received order") }, "", ""},
		{"no context", func(l *slog.Logger) { l.Info("received order") }, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(logging.New(&buf, logging.Config{}, "svc", "i-1"))
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			_, hasTrace := rec["trace_id"]
			_, hasSpan := rec["span_id"]
			if tc.traceID == "" && (hasTrace || hasSpan) {
				t.Errorf("untraced line has trace ids: %s", buf.String())
			}
			if tc.traceID != "" && (rec["trace_id"] != tc.traceID || rec["span_id"] != tc.spanID) {
				t.Errorf("line %s: want trace_id %s span_id %s", buf.String(), tc.traceID, tc.spanID)
			}
			if rec["msg"] != "received order" || rec["service"] != "svc" {
				t.Errorf("line lost its own fields: %s", buf.String())
			}
		})
	}
}
