package main

import (
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	at := time.Date(2026, 11, 25, 19, 59, 30, 727166726, time.UTC)
	tests := []struct {
		name string
		line string
		want Event
		ok   bool
	}{
		{"integer age", `{"time":"2026-11-25T19:59:30.727166726Z","level":"INFO","msg":"received order","age_ms":530,"deliveries":1}`,
			Event{At: at, Msg: msgReceived, AgeMs: 530, HasAge: true}, true},
		{"fractional age", `{"time":"2026-11-25T19:59:30.727166726Z","msg":"received order","age_ms":0.412}`,
			Event{At: at, Msg: msgReceived, AgeMs: 0.412, HasAge: true}, true},
		{"zero age is an age", `{"time":"2026-11-25T19:59:30.727166726Z","msg":"received order","age_ms":0}`,
			Event{At: at, Msg: msgReceived, HasAge: true}, true},
		{"no age", `{"time":"2026-11-25T19:59:30.727166726Z","msg":"published order","order_id":"order-1"}`,
			Event{At: at, Msg: msgPublished}, true},
		{"not JSON", `panic: runtime error`, Event{}, false},
		{"no message", `{"time":"2026-11-25T19:59:30.727166726Z"}`, Event{}, false},
		{"no time", `{"msg":"received order"}`, Event{}, false},
		{"age of another type", `{"time":"2026-11-25T19:59:30.727166726Z","msg":"received order","age_ms":"1ms"}`, Event{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLine([]byte(tt.line))
			if ok != tt.ok || !got.At.Equal(tt.want.At) || got.Msg != tt.want.Msg || got.AgeMs != tt.want.AgeMs || got.HasAge != tt.want.HasAge {
				t.Fatalf("ParseLine = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTimesAndAges(t *testing.T) {
	t0 := time.Unix(100, 0)
	evs := []Event{
		{At: t0, Msg: msgConsuming},
		{At: t0.Add(time.Millisecond), Msg: msgReceived, AgeMs: 1.5, HasAge: true},
		{At: t0.Add(2 * time.Millisecond), Msg: msgReceived},
		{At: t0.Add(3 * time.Millisecond), Msg: msgPublished},
	}
	if got := Times(evs, msgReceived); len(got) != 2 || !got[1].Equal(t0.Add(2*time.Millisecond)) {
		t.Errorf("Times(received) = %v, want the 2 received lines", got)
	}
	if got := Ages(evs, msgReceived); len(got) != 1 || got[0] != 1.5 {
		t.Errorf("Ages(received) = %v, want [1.5]: only lines with an age", got)
	}
	if got := Times(evs, "absent"); len(got) != 0 {
		t.Errorf("Times(absent) = %v, want none", got)
	}
}
