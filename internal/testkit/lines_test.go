package testkit

import "testing"

func TestLineMsg(t *testing.T) {
	tests := []struct {
		name, line, want string
		ok               bool
	}{
		{"slog line", `{"time":"2026-11-25T19:59:30.727166726Z","level":"INFO","msg":"received order","age_ms":0.4}`, "received order", true},
		{"escaped message", `{"time":"2026-11-25T19:59:30.727166726Z","msg":"say \"hi\""}`, `say "hi"`, true},
		{"empty message", `{"time":"2026-11-25T19:59:30.727166726Z","msg":""}`, "", false},
		{"no message", `{"time":"2026-11-25T19:59:30.727166726Z"}`, "", false},
		{"not JSON", `panic: runtime error`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LineMsg([]byte(tt.line))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("LineMsg = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
