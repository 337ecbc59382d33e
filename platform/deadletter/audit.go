package deadletter

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

// AuditConfig is where replays and purges are recorded: a stream of its
// own, so that the records never take the orders' room.
type AuditConfig struct {
	Stream   string        `envconfig:"AUDIT_STREAM" default:"ORDERS_AUDIT" desc:"JetStream stream keeping a record of every dead letter the dead-letter tool replayed or purged (made by 'consumer provision')"`
	Subject  string        `envconfig:"AUDIT_SUBJECT" default:"orders-audit.deadletters" desc:"subject prefix of those records, <prefix>.<replay|purge>.<outcome>; outside the orders' stream"`
	MaxBytes int64         `envconfig:"AUDIT_MAX_BYTES" default:"16777216" desc:"bytes the audit stream keeps; the oldest records go first"`
	MaxAge   time.Duration `envconfig:"AUDIT_MAX_AGE" default:"2160h" desc:"how long an audit record is kept"`
}

// Validate implements config.Validator.
func (c AuditConfig) Validate() error {
	if err := messaging.CheckName(c.Stream); err != nil {
		return fmt.Errorf("AUDIT_STREAM=%q: %w", c.Stream, err)
	}
	if err := messaging.CheckSubject(c.Subject); err != nil {
		return fmt.Errorf("AUDIT_SUBJECT=%q: %w", c.Subject, err)
	}
	switch {
	case c.MaxBytes < 1<<16:
		return fmt.Errorf("AUDIT_MAX_BYTES=%d: want at least 65536", c.MaxBytes)
	case c.MaxAge < 0:
		return fmt.Errorf("AUDIT_MAX_AGE=%s: must not be negative", c.MaxAge)
	}
	return nil
}

// Filter is what the audit stream captures: every record.
func (c AuditConfig) Filter() string { return c.Subject + ".>" }

// EnsureAudit creates or updates the audit stream: limits retention, the
// oldest records dropped first when full, so a record never fails for
// lack of room.
func EnsureAudit(ctx context.Context, js jetstream.JetStream, c AuditConfig, replicas int) error {
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: c.Stream, Description: "records of the dead-letter tool's replays and purges",
		Subjects: []string{c.Filter()}, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
		MaxBytes: c.MaxBytes, MaxAge: c.MaxAge, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("audit stream %s: %w", c.Stream, err)
	}
	return nil
}

// Audit records the results of one run.
type Audit struct {
	js      jetstream.JetStream
	subject string
	run     Run
}

// Run is what every record of a run repeats: which run, who, what for.
type Run struct {
	// ID tells the records of one run from another's.
	ID string `json:"run"`
	// Actor is who ran it, as given or as the NATS user.
	Actor string `json:"actor"`
	// Command is the command line's verb and flags.
	Command string `json:"command"`
}

// NewAudit returns the audit of run, published on c's subjects.
func NewAudit(js jetstream.JetStream, c AuditConfig, run Run) *Audit {
	return &Audit{js: js, subject: c.Subject, run: run}
}

// Entry is one audit record.
type Entry struct {
	Run
	Time    time.Time `json:"time"`
	Verb    string    `json:"verb"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	Seq     uint64    `json:"dead_letter_seq"`
	Reason  string    `json:"reason"`
	OrderID string    `json:"order_id,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Replays int       `json:"replays"`
	// DeadLettered is when the dead letter was stored.
	DeadLettered time.Time `json:"dead_lettered"`
}

// Record stores one result of verb ("replay", "purge") and returns once
// the stream has it.
func (a *Audit) Record(ctx context.Context, verb string, r Result) error {
	e := Entry{
		Run: a.run, Time: time.Now().UTC(), Verb: verb, Outcome: r.Outcome, Detail: r.Detail,
		Seq: r.Letter.Seq, Reason: r.Letter.Reason, OrderID: r.Letter.OrderID, Subject: r.Letter.Subject,
		Replays: r.Letter.Replays, DeadLettered: r.Letter.Time,
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	subject := a.subject + "." + verb + "." + r.Outcome
	_, err = a.js.Publish(ctx, subject, b, jetstream.WithMsgID(a.run.ID+"-"+strconv.FormatUint(r.Letter.Seq, 10)))
	return err
}
