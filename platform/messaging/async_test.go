package messaging_test

import (
	"context"
	"errors"
	"testing"

	"github.com/distsys-go/orders/platform/messaging"
)

// publishFunc is a synchronous-only Publisher.
type publishFunc func(context.Context, *messaging.Message) error

func (f publishFunc) Publish(ctx context.Context, m *messaging.Message) error { return f(ctx, m) }

// PublishAsync on a publisher without it publishes at once and settles the
// PubAck with the outcome.
func TestPublishAsyncFallsBack(t *testing.T) {
	refused := errors.New("refused")
	for _, want := range []error{nil, refused} {
		var published int
		pub := publishFunc(func(context.Context, *messaging.Message) error {
			published++
			return want
		})
		ack, err := messaging.PublishAsync(context.Background(), pub, messaging.NewMessage("orders.created", "o-1", nil))
		if err != nil {
			t.Fatal(err)
		}
		if published != 1 {
			t.Fatalf("published %d times before Wait, want 1", published)
		}
		if got := ack.Wait(context.Background()); !errors.Is(got, want) {
			t.Errorf("Wait: %v, want %v", got, want)
		}
	}
}
