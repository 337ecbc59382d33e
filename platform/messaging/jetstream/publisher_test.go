package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// Publish errors say what retrying can do: nothing for a message the
// server will never take (ErrRejected), wait for room (ErrFull) or for a
// stream to answer (ErrUnavailable).
func TestPublishErrorsSayWhy(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	ctx := context.Background()
	if _, err := jetstream.EnsureStream(ctx, js, testStream); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []natsjs.StreamConfig{
		{Name: "SMALL", Subjects: []string{"small.>"}, MaxMsgSize: 100},
		{Name: "FULL", Subjects: []string{"full.>"}, MaxMsgs: 2, Discard: natsjs.DiscardNew},
	} {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	pub := jetstream.NewPublisher(js)
	for i := range 2 {
		if err := publishSync(pub, messaging.NewMessage("full.a", fmt.Sprintf("m-%d", i), []byte("x"))); err != nil {
			t.Fatalf("publish %d into a stream with room: %v", i, err)
		}
	}

	tests := []struct {
		name string
		msg  *messaging.Message
		want error
	}{
		{"over the server's max_payload", messaging.NewMessage(messagingtest.Subject, "", make([]byte, 1<<20+1)), messaging.ErrRejected},
		{"over the stream's max message size", messaging.NewMessage("small.x", "", make([]byte, 101)), messaging.ErrRejected},
		{"stream at its message limit", messaging.NewMessage("full.a", "m-3", []byte("x")), messaging.ErrFull},
		{"no stream captures the subject", messaging.NewMessage("elsewhere.x", "", []byte("x")), messaging.ErrUnavailable},
	}
	sentinels := []error{messaging.ErrRejected, messaging.ErrFull, messaging.ErrUnavailable}
	for _, how := range publishes {
		for _, tc := range tests {
			t.Run(how.name+"/"+tc.name, func(t *testing.T) {
				err := how.publish(pub, tc.msg)
				for _, s := range sentinels {
					if got, want := errors.Is(err, s), s == tc.want; got != want {
						t.Errorf("publish: %v; wraps %v: %v, want %v", err, s, got, want)
					}
				}
			})
		}
	}
}

// publishes are the two ways to publish: waiting for the ack, or handing
// the message over and waiting for its PubAck.
var publishes = []struct {
	name    string
	publish func(*jetstream.Publisher, *messaging.Message) error
}{
	{"Publish", publishSync},
	{"PublishAsync", func(pub *jetstream.Publisher, msg *messaging.Message) error {
		ack, err := pub.PublishAsync(context.Background(), msg)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return ack.Wait(ctx)
	}},
}

func publishSync(pub *jetstream.Publisher, msg *messaging.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pub.Publish(ctx, msg)
}

// Many messages in flight at once are each acknowledged once stored, and
// one sent again under its id while the first is in flight is stored once.
func TestPublishAsyncStoresEachOnce(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	ctx := context.Background()
	stream, err := jetstream.EnsureStream(ctx, js, testStream)
	if err != nil {
		t.Fatal(err)
	}
	pub := jetstream.NewPublisher(js)
	const n = 200
	var acks []messaging.PubAck
	for i := range n + 1 {
		id := fmt.Sprintf("m-%d", min(i, n-1)) // the last one again
		ack, err := pub.PublishAsync(ctx, messaging.NewMessage(messagingtest.Subject, id, []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, ack)
	}
	for i, ack := range acks {
		if err := ack.Wait(ctx); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Errorf("stream holds %d messages, want %d", info.State.Msgs, n)
	}
}
