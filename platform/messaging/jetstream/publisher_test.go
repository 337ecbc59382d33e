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
	"github.com/distsys-go/orders/platform/natstest"
)

// TestPublishErrorsSayWhy: a full stream and a subject no stream captures
// are told apart by sentinel, so a producer can count and report them.
func TestPublishErrorsSayWhy(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, natsjs.StreamConfig{
		Name: "SMALL", Subjects: []string{"small.>"}, MaxMsgs: 2, Discard: natsjs.DiscardNew,
	}); err != nil {
		t.Fatal(err)
	}
	pub := jetstream.NewPublisher(js)
	publish := func(subject string, i int) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return pub.Publish(ctx, messaging.NewMessage(subject, fmt.Sprintf("m-%d", i), []byte("x")))
	}
	for i := range 2 {
		if err := publish("small.a", i); err != nil {
			t.Fatalf("publish %d into a stream with room: %v", i, err)
		}
	}

	tests := []struct {
		name    string
		subject string
		want    error
	}{
		{"stream at its limit", "small.a", messaging.ErrFull},
		{"no stream captures the subject", "elsewhere.a", messaging.ErrUnavailable},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := publish(tc.subject, 10+i)
			if !errors.Is(err, tc.want) {
				t.Fatalf("publish: %v, want an error wrapping %v", err, tc.want)
			}
		})
	}
}
