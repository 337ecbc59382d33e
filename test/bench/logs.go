package main

import (
	"encoding/json"
	"time"
)

// Log messages the harness reads from the binaries' JSON log lines.
const (
	msgPublished  = "published order" // producer, one per acknowledged order
	msgReceived   = "received order"  // consumer, one per recorded order, with age_ms
	msgPublishing = "publishing"      // producer ready, about to publish
	msgConsuming  = "consuming"       // consumer ready, subscribed
)

// Event is the part of one log line the harness uses.
type Event struct {
	At  time.Time
	Msg string
	// AgeMs is the consumer's end-to-end age of the order in milliseconds
	// (integer or fractional in the log); HasAge is false without one.
	AgeMs  float64
	HasAge bool
}

// logLine is the JSON shape of a slog line, only the fields used.
type logLine struct {
	Time  time.Time `json:"time"`
	Msg   string    `json:"msg"`
	AgeMs *float64  `json:"age_ms"`
}

// ParseLine reads one log line; ok is false for a line that is not a JSON
// log record with a time and a message (a panic trace, say).
func ParseLine(line []byte) (ev Event, ok bool) {
	var l logLine
	if err := json.Unmarshal(line, &l); err != nil || l.Msg == "" || l.Time.IsZero() {
		return Event{}, false
	}
	ev = Event{At: l.Time, Msg: l.Msg}
	if l.AgeMs != nil {
		ev.AgeMs, ev.HasAge = *l.AgeMs, true
	}
	return ev, true
}

// Times returns the times of the events with message msg.
func Times(evs []Event, msg string) []time.Time {
	var ts []time.Time
	for _, e := range evs {
		if e.Msg == msg {
			ts = append(ts, e.At)
		}
	}
	return ts
}

// Ages returns the ages in milliseconds of the events with message msg
// that carry one.
func Ages(evs []Event, msg string) []float64 {
	var ages []float64
	for _, e := range evs {
		if e.Msg == msg && e.HasAge {
			ages = append(ages, e.AgeMs)
		}
	}
	return ages
}
