package messaging

import "context"

// AsyncPublisher is a Publisher that can also hand a message over without
// waiting for the transport's acknowledgement, so that one goroutine keeps
// many publishes in flight (a JetStream server acknowledges each after
// storing it: waiting for one before sending the next caps a publisher at
// one message per round trip). It is optional: PublishAsync falls back to
// Publish for transports without it.
type AsyncPublisher interface {
	Publisher
	// PublishAsync sends msg and returns without waiting for its
	// acknowledgement, which the PubAck reports. An error means msg was
	// not sent. ctx carries the caller's trace; it does not bound the
	// wait.
	PublishAsync(ctx context.Context, msg *Message) (PubAck, error)
}

// PubAck is a publish awaiting its acknowledgement.
type PubAck interface {
	// Wait returns nil once the transport accepted the message (what a nil
	// error from Publish means), the transport's error if it did not, or
	// ctx's error if ctx ends first. The publisher's acknowledgement
	// timeout bounds the wait too.
	Wait(ctx context.Context) error
}

// PublishAsync sends msg through pub without waiting when pub is an
// AsyncPublisher; otherwise it publishes msg with pub.Publish and returns
// the outcome as a PubAck that is already settled.
func PublishAsync(ctx context.Context, pub Publisher, msg *Message) (PubAck, error) {
	if a, ok := pub.(AsyncPublisher); ok {
		return a.PublishAsync(ctx, msg)
	}
	return Settled(pub.Publish(ctx, msg)), nil
}

// Settled returns a PubAck whose Wait returns err at once.
func Settled(err error) PubAck { return settled{err} }

type settled struct{ err error }

func (s settled) Wait(context.Context) error { return s.err }
