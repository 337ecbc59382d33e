package messaging_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging"
)

// Workers run n handlers at once and never more, and Wait returns once
// every handler returned.
func TestWorkersBoundAndWait(t *testing.T) {
	for _, n := range []int{1, 3, 16} {
		w := messaging.NewWorkers(n)
		release := make(chan struct{})
		var (
			mu            sync.Mutex
			running, most int
			ran           atomic.Int32
		)
		const handlers = 50
		go func() {
			for range handlers {
				w.Go(func() {
					mu.Lock()
					running++
					most = max(most, running)
					mu.Unlock()
					<-release
					mu.Lock()
					running--
					mu.Unlock()
					ran.Add(1)
				})
			}
		}()
		testkit.Eventually(t, "n handlers run", testkit.Bound, func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return running == n, ""
		})
		close(release)
		testkit.Eventually(t, "every handler ran", testkit.Bound, func() (bool, string) { return ran.Load() == handlers, "" })
		if err := w.Wait(context.Background()); err != nil {
			t.Fatalf("n=%d: Wait: %v", n, err)
		}
		if most != n {
			t.Errorf("n=%d: %d handlers ran at once, want %d", n, most, n)
		}
	}
}

// Wait gives up when its context ends while a handler still runs.
func TestWorkersWaitEndsWithContext(t *testing.T) {
	w := messaging.NewWorkers(2)
	release := make(chan struct{})
	defer close(release)
	w.Go(func() { <-release })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait: %v, want context.Canceled", err)
	}
}
