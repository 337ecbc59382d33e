package main

import (
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
)

func TestConsumeVersionsValidated(t *testing.T) {
	base := settings{QueueGroup: "g", DeadLetterSubject: "orders.deadletter", Concurrency: 1, MaxPayloadBytes: 1, MetricsInterval: time.Second}
	for _, c := range []struct {
		versions []string
		want     string // in the error; "" for valid
	}{
		{[]string{"v1", "v2"}, ""}, {[]string{"v2"}, ""}, {nil, "at least one"},
		{[]string{"v3"}, `"v3": want one of v1, v2`}, {[]string{"v1", "v1"}, "twice"},
	} {
		s := base
		s.Versions = c.versions
		err := s.Validate()
		if (c.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), "CONSUME_VERSIONS") || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("CONSUME_VERSIONS=%v: %v, want %q", c.versions, err, c.want)
		}
	}
}

func TestMetricsIntervalValidated(t *testing.T) {
	base := settings{QueueGroup: "g", Versions: []string{"v1"}, DeadLetterSubject: "orders.deadletter", Concurrency: 1, MaxPayloadBytes: 1}
	for _, c := range []struct {
		interval time.Duration
		wantErr  bool
	}{{15 * time.Second, false}, {time.Second, false}, {500 * time.Millisecond, true}, {0, true}} {
		s := base
		s.MetricsInterval = c.interval
		err := s.Validate()
		if (err != nil) != c.wantErr || (err != nil && !strings.Contains(err.Error(), "METRICS_INTERVAL")) {
			t.Errorf("METRICS_INTERVAL=%s: %v, want error %v naming it", c.interval, err, c.wantErr)
		}
	}
}

// The rules across the consumer's parts, each refused with the variable
// named; the redelivery rule only where the transport redelivers.
func TestConfigRules(t *testing.T) {
	valid := func() config {
		return config{
			Env: service.Env{
				Settings:     service.Settings{DeliveryMode: "jetstream", Subject: "orders.created"},
				StreamConfig: jetstream.StreamConfig{Subjects: []string{"orders.>"}, DuplicateWindow: 2 * time.Minute},
			},
			Worker:  settings{QueueGroup: "fulfilment-workers", Versions: []string{"v1", "v2"}, DeadLetterSubject: "orders.deadletter"},
			Durable: jetstream.ConsumerConfig{AckWait: 30 * time.Second, MaxDeliver: 20},
			Ledger:  ledger.Config{TTL: time.Hour},
		}
	}
	tests := []struct {
		name   string
		change func(*config)
		want   string // in the error; "" for valid
	}{
		{"defaults", func(*config) {}, ""},
		{"dead letters on the order subject", func(c *config) { c.Worker.DeadLetterSubject = "orders.created" }, "DEAD_LETTER_SUBJECT"},
		{"dead letters on the v2 subject", func(c *config) { c.Worker.DeadLetterSubject = "orders.created.v2" }, "DEAD_LETTER_SUBJECT"},
		{"v2 outside the stream", func(c *config) { c.StreamConfig.Subjects = []string{"orders.created", "orders.deadletter"} }, "CONSUME_VERSIONS (v2)"},
		{"v1 only: v2 need not be captured", func(c *config) {
			c.StreamConfig.Subjects, c.Worker.Versions = []string{"orders.created", "orders.deadletter"}, []string{"v1"}
		}, ""},
		{"dead letters outside the stream", func(c *config) { c.Worker.DeadLetterSubject = "dead.orders" }, "DEAD_LETTER_SUBJECT"},
		{"ledger forgets too early", func(c *config) { c.Ledger.TTL = time.Minute }, "DEDUP_TTL=1m0s"},
		{"core: no stream, no redeliveries", func(c *config) {
			c.DeliveryMode, c.Worker.DeadLetterSubject, c.Ledger.TTL = "core", "dead.orders", time.Minute
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}
