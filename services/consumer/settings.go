package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
)

// settings are the consumer's own variables (see -h for all of them).
type settings struct {
	QueueGroup string `envconfig:"QUEUE_GROUP" default:"fulfilment-workers" desc:"core NATS queue group, and the name of the shared JetStream durable consumer, of v1 events; a later version's is QUEUE_GROUP-<version>"`
	// Versions are read from their own subjects by their own durables,
	// so that replicas of two releases never rewrite each other's filter.
	Versions []string `envconfig:"CONSUME_VERSIONS" default:"v1,v2" desc:"event versions this replica reads, comma-separated, each from its own subject (SUBJECT for v1, SUBJECT.<version> after) through its own durable; keep the old one while producers still send it"`
	// Concurrency is also how many ledger records one replica has in
	// flight: a handler waits for its record's acknowledgement, and the
	// records of all handlers share the connection, pipelined. By
	// Little's law a replica then records about CONCURRENCY / round trip
	// orders a second, so the default is sized for a round trip of a few
	// milliseconds under load, not for the CPU count; a waiting handler
	// costs a goroutine (docs/performance.md, "Consumer concurrency").
	Concurrency       int           `envconfig:"CONCURRENCY" default:"256" desc:"orders of one event version one replica processes at once, each waiting for its ledger record; their records are in flight together on the connection"`
	DeadLetterSubject string        `envconfig:"DEAD_LETTER_SUBJECT" default:"orders.deadletter" desc:"subject of the dead letters: references (stream, sequence, reason, first 4 KiB) to oversized, malformed, invalid and max-deliveries messages"`
	MaxPayloadBytes   int           `envconfig:"MAX_PAYLOAD_BYTES" default:"65536" desc:"larger messages are dead-lettered as oversized"`
	WorkTime          time.Duration `envconfig:"WORK_TIME" default:"0s" desc:"simulated work per order, to watch scaling and shutdown"`
	MetricsInterval   time.Duration `envconfig:"METRICS_INTERVAL" default:"15s" desc:"how often the durable's backlog and the streams' fill are read from JetStream for the orders_consumer_* and orders_stream_* gauges (one request per stream and consumer each time)"`
}

// minMetricsInterval keeps the gauges' reads of JetStream light: every
// replica makes them, and no scrape is more frequent than a second.
const minMetricsInterval = time.Second

// Validate implements config.Validator.
func (s settings) Validate() error {
	if err := messaging.CheckName(s.QueueGroup); err != nil {
		return fmt.Errorf("QUEUE_GROUP=%q: %w (it also names the durable consumer)", s.QueueGroup, err)
	}
	if _, err := events.ParseVersions(s.Versions); err != nil {
		return fmt.Errorf("CONSUME_VERSIONS=%q: %w", strings.Join(s.Versions, ","), err)
	}
	if err := messaging.CheckSubject(s.DeadLetterSubject); err != nil {
		return fmt.Errorf("DEAD_LETTER_SUBJECT=%q: %w", s.DeadLetterSubject, err)
	}
	switch {
	case s.Concurrency < 1:
		return fmt.Errorf("CONCURRENCY=%d: must be at least 1", s.Concurrency)
	case s.MaxPayloadBytes < 1:
		return fmt.Errorf("MAX_PAYLOAD_BYTES=%d: must be at least 1", s.MaxPayloadBytes)
	case s.WorkTime < 0:
		return fmt.Errorf("WORK_TIME=%s: must not be negative", s.WorkTime)
	case s.MetricsInterval < minMetricsInterval:
		return fmt.Errorf("METRICS_INTERVAL=%s: want at least %s (every replica reads JetStream this often)", s.MetricsInterval, minMetricsInterval)
	}
	return nil
}

// config is the consumer's environment: -h lists every variable.
type config struct {
	service.Env
	Worker  settings
	Durable jetstream.ConsumerConfig
	Ledger  ledger.Config
	// Audit is where the dead-letter tool ('consumer deadletters')
	// records what it replayed and purged.
	Audit deadletter.AuditConfig
}

// versions are the event versions this replica reads (CONSUME_VERSIONS,
// checked by Validate).
func (c config) versions() []events.Version {
	vs, _ := events.ParseVersions(c.Worker.Versions)
	return vs
}

// waitingSubjects are the subjects whose stored messages the gauges count:
// the dead letters, and every known version's the stream captures, read
// or not, so that orders of a version no replica reads yet show there.
func (c config) waitingSubjects() []string {
	out := []string{c.Worker.DeadLetterSubject}
	for _, v := range events.Versions {
		if c.Delivers("", v.Subject(c.Subject)) == nil {
			out = append(out, v.Subject(c.Subject))
		}
	}
	return out
}

// Validate holds the rules between the parts, each a way to lose, loop or
// double orders if broken.
func (c config) Validate() error {
	for _, v := range c.versions() {
		subject := v.Subject(c.Subject)
		if c.Worker.DeadLetterSubject == subject {
			return fmt.Errorf("DEAD_LETTER_SUBJECT=%q: must differ from the %s subject, or dead letters come back as orders", c.Worker.DeadLetterSubject, v.Name)
		}
		if err := c.Delivers("CONSUME_VERSIONS ("+v.Name+")", subject); err != nil {
			return err
		}
		if err := messaging.CheckName(v.Durable(c.Worker.QueueGroup)); err != nil {
			return fmt.Errorf("QUEUE_GROUP=%q: the %s durable %q: %w", c.Worker.QueueGroup, v.Name, v.Durable(c.Worker.QueueGroup), err)
		}
	}
	if err := c.Delivers("DEAD_LETTER_SUBJECT", c.Worker.DeadLetterSubject); err != nil {
		return err
	}
	if c.Redelivers() && c.CheckCaptures("AUDIT_SUBJECT", c.Audit.Subject+".replay") == nil {
		return fmt.Errorf("AUDIT_SUBJECT=%q: the orders' stream STREAM_SUBJECTS=%v captures it: the audit must not take the orders' room", c.Audit.Subject, c.StreamConfig.Subjects)
	}
	if need := recordLifetime(c.StreamConfig, c.Durable); c.Redelivers() && c.Ledger.TTL > 0 && c.Ledger.TTL < need {
		return fmt.Errorf("DEDUP_TTL=%s is shorter than MAX_DELIVER=%d x (ACK_WAIT=%s + %s) + STREAM_DUPLICATE_WINDOW=%s = %s: a redelivered or republished order could be processed twice",
			c.Ledger.TTL, c.Durable.MaxDeliver, c.Durable.AckWait, maxNakDelay, c.DuplicateWindow, need)
	}
	return nil
}

// recordLifetime is how long a ledger record must outlive its recording.
// On a work-queue stream a processed order leaves the stream, so the
// record only has to catch what can still bring the order back: its own
// redeliveries (the ack after recording was lost), at most MAX_DELIVER of
// them, each after ACK_WAIT or a back-off of at most maxNakDelay; and a
// producer's republish of an order whose acknowledgement it never got,
// which the stream de-duplicates for STREAM_DUPLICATE_WINDOW and the
// ledger must catch after that, with that copy's own redeliveries.
func recordLifetime(stream jetstream.StreamConfig, cons jetstream.ConsumerConfig) time.Duration {
	return time.Duration(cons.MaxDeliver)*(cons.AckWait+maxNakDelay) + stream.DuplicateWindow
}
