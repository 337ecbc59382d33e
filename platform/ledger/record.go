package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// recordTimeout bounds the wait for one record's acknowledgement, as the
// JetStream default API timeout bounded the synchronous create it
// replaces. A record not confirmed by then is an error (transient): its
// order is handed back, and the redelivery finds the record if it was
// made after all.
const recordTimeout = 5 * time.Second

// maxPending is the records one ledger has in flight before the next one
// waits (at most 200ms, then fails as transient): one per caller waiting
// in Record, so far more than a replica's CONCURRENCY needs.
const maxPending = 1 << 16

// absent is the create-if-absent condition: the key's subject holds no
// message yet (its last sequence is 0). One header for every record, not a
// map per record: a publish with no options only reads it (also when
// nats.go resends it after "no responders"), so sharing it is safe.
var absent = nats.Header{natsjs.ExpectedLastSubjSeqHeader: []string{"0"}}

// Record implements Ledger with the bucket's create-if-absent: a publish
// to the key's subject that the server refuses if the subject holds a
// message. Unlike the bucket's Create it does not wait for the server
// while it publishes: concurrent Records are all in flight on the
// connection at once, each waiting only for its own acknowledgement, so
// the ledger's rate is not one record per round trip and caller.
func (k *KV) Record(ctx context.Context, r Record) error {
	if !validKey(r.OrderID) {
		return fmt.Errorf("record order %q: %w", r.OrderID, natsjs.ErrInvalidKey)
	}
	value, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	err = k.create(ctx, r.OrderID, value)
	if wrongLastSequence(err) {
		err = k.createOver(ctx, r.OrderID, value)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrAlreadyRecorded):
		return err
	case jetstream.IsFull(err):
		return fmt.Errorf("record order %s: %w: %w", r.OrderID, ErrFull, err)
	case jetstream.IsUnavailable(err), errors.Is(err, natsjs.ErrAsyncPublishTimeout):
		return fmt.Errorf("record order %s: %w: %w", r.OrderID, ErrUnavailable, err)
	}
	return fmt.Errorf("record order %s: %w", r.OrderID, err)
}

// create publishes value under key if the key has no message, and waits
// for the server's answer, or ctx.
func (k *KV) create(ctx context.Context, key string, value []byte) error {
	msg := &nats.Msg{
		Subject: k.prefix + key,
		Header:  absent,
		Data:    value,
	}
	ack, err := k.async.PublishMsgAsync(msg)
	if err != nil {
		return err
	}
	select {
	case <-ack.Ok():
		return nil
	case err := <-ack.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// createOver settles a create the server refused because the key's
// subject holds a message. That is an earlier record, unless it is the
// marker a delete or purge of the key leaves (expiry by TTL leaves none:
// the bucket has no limit markers), which the bucket's Create records
// over. This happens only to orders seen before, so it uses that Create,
// one more round trip, and keeps its semantics exactly.
func (k *KV) createOver(ctx context.Context, key string, value []byte) error {
	_, err := k.kv.Create(ctx, key, value)
	if errors.Is(err, natsjs.ErrKeyExists) {
		return ErrAlreadyRecorded
	}
	return err
}

// wrongLastSequence reports whether err is the server refusing a publish
// whose subject holds a message: code 10071, or 10164 on a replicated
// stream.
func wrongLastSequence(err error) bool {
	if err == nil {
		return false // without errors.As, whose target escapes
	}
	var apiErr *natsjs.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequenceConstant)
}

// validKey reports whether key is a valid key-value key (nats.go's rule):
// it becomes part of the subject published to, where a space or a
// wildcard would publish somewhere else or nowhere.
func validKey(key string) bool {
	if key == "" || key[0] == '.' || key[len(key)-1] == '.' || strings.Contains(key, "..") {
		return false
	}
	for i := range len(key) {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '/', c == '_', c == '=', c == '.':
		default:
			return false
		}
	}
	return true
}
