package events

import "errors"

// A dead letter is a reference to a message the consumer gave up on, not a
// copy of it: the original may be as large as the server accepts, and a
// copy plus headers would not fit. Its headers say why and where the
// original is (stream and sequence: `nats stream get <stream> <sequence>`);
// its body is at most DeadLetterMaxBody bytes of the original's start.

// Headers set on a dead letter. Those naming the original are absent when
// the transport has no such thing (core NATS has no stream or sequence).
const (
	// HeaderDeadLetterReason is why the message was dead-lettered, one of
	// the Reason constants.
	HeaderDeadLetterReason = "Orders-Dead-Letter-Reason"
	// HeaderDeadLetterError is the error behind the reason, cut to
	// DeadLetterMaxError bytes.
	HeaderDeadLetterError = "Orders-Dead-Letter-Error"
	// HeaderDeadLetterTruncated is "true" when the body is only the first
	// DeadLetterMaxBody bytes of the original (or empty) and "false" when
	// it is the whole original.
	HeaderDeadLetterTruncated = "Orders-Dead-Letter-Truncated"
	// HeaderOriginalSubject is the subject the original was published on.
	HeaderOriginalSubject = "Orders-Original-Subject"
	// HeaderOriginalStream is the stream that stores the original.
	HeaderOriginalStream = "Orders-Original-Stream"
	// HeaderOriginalSequence is the original's sequence in that stream.
	HeaderOriginalSequence = "Orders-Original-Sequence"
	// HeaderOriginalID is the original's message id (Nats-Msg-Id), cut to
	// DeadLetterMaxField bytes.
	HeaderOriginalID = "Orders-Original-Msg-Id"
	// HeaderOriginalSize is the size of the original's body in bytes.
	HeaderOriginalSize = "Orders-Original-Size"
	// HeaderDeliveries is how often the original had been delivered.
	HeaderDeliveries = "Orders-Deliveries"
	// HeaderReplays is how often an order was replayed from a dead
	// letter: set on the replayed order, and copied to its dead letter if
	// it fails again, so that replays of an order are bounded.
	HeaderReplays = "Orders-Replays"
	// HeaderOriginalType is the original's CloudEvents type (ce-type),
	// when it had one: the event version, so that a replay goes to that
	// version's subject.
	HeaderOriginalType = "Orders-Original-Type"
)

// Dead-letter reasons, the values of HeaderDeadLetterReason.
const (
	// ReasonOversized: the body is larger than the consumer accepts.
	ReasonOversized = "oversized"
	// ReasonMalformed: the body is not an OrderEvent (see ErrMalformed).
	ReasonMalformed = "malformed"
	// ReasonInvalid: the event breaks a rule (see ErrInvalid).
	ReasonInvalid = "invalid"
	// ReasonMaxDeliveries: a valid order whose processing failed on every
	// allowed delivery, or that was delivered that often without the
	// consumer settling it (it crashed or stalled each time).
	ReasonMaxDeliveries = "max-deliveries"
	// ReasonUnknownVersion: the message says it is an event of a version
	// this consumer does not know (see ErrUnknownVersion); a consumer of a
	// newer release may read it, so it can be replayed once one runs.
	ReasonUnknownVersion = "unknown-version"
	// ReasonVersionMismatch: an event of one version on another version's
	// subject, or a body that is not the version its headers say (see
	// ErrVersionMismatch).
	ReasonVersionMismatch = "version-mismatch"
)

// ReasonOf is the dead-letter reason of an error Version.Decode returned.
func ReasonOf(err error) string {
	switch {
	case errors.Is(err, ErrUnknownVersion):
		return ReasonUnknownVersion
	case errors.Is(err, ErrVersionMismatch):
		return ReasonVersionMismatch
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	}
	return ReasonInvalid
}

// Reasons are all the reasons, in the order listings and metrics name
// them.
var Reasons = []string{ReasonOversized, ReasonMalformed, ReasonInvalid, ReasonUnknownVersion, ReasonVersionMismatch, ReasonMaxDeliveries}

// Bounds of a dead letter. With at most ten headers of at most
// DeadLetterMaxField bytes (the error DeadLetterMaxError) and a body of at
// most DeadLetterMaxBody bytes, a dead letter stays under 10 KiB, far below
// any server's max_payload (1 MiB by default), whatever the original was.
const (
	// DeadLetterMaxBody bounds the prefix of the original carried as body:
	// enough to read a JSON order, small enough to always fit.
	DeadLetterMaxBody = 4096
	// DeadLetterMaxError bounds HeaderDeadLetterError.
	DeadLetterMaxError = 1024
	// DeadLetterMaxField bounds every other header value taken from the
	// original (its subject and message id).
	DeadLetterMaxField = 256
)
