package main

import "time"

// settings are the consumer's own variables (see -h for all of them).
type settings struct {
	QueueGroup        string        `envconfig:"QUEUE_GROUP" default:"fulfilment-workers" desc:"core NATS queue group, and the name of the shared JetStream durable consumer"`
	Concurrency       int           `envconfig:"CONCURRENCY" default:"16" desc:"orders one replica processes at once (keep <= PULL_MAX_MESSAGES)"`
	DeadLetterSubject string        `envconfig:"DEAD_LETTER_SUBJECT" default:"orders.deadletter" desc:"subject undecodable, invalid or oversized messages go to"`
	MaxPayloadBytes   int           `envconfig:"MAX_PAYLOAD_BYTES" default:"65536" desc:"larger messages are dead-lettered as oversized"`
	WorkTime          time.Duration `envconfig:"WORK_TIME" default:"0s" desc:"simulated work per order, to watch scaling and shutdown"`
}
