package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/messaging/messagingtest"
	"github.com/distsys-go/orders/platform/natstest"
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
	publish := func(msg *messaging.Message) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return pub.Publish(ctx, msg)
	}
	for i := range 2 {
		if err := publish(messaging.NewMessage("full.a", fmt.Sprintf("m-%d", i), []byte("x"))); err != nil {
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := publish(tc.msg)
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tc.want; got != want {
					t.Errorf("publish: %v; wraps %v: %v, want %v", err, s, got, want)
				}
			}
		})
	}
}
