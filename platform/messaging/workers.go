package messaging

import (
	"context"
	"sync"
)

// Workers runs handlers on at most n goroutines at once. Go blocks while
// all n are busy, which pushes back on the transport instead of queueing
// without bound in the process: no message is ever lost to our own
// buffering.
type Workers struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

// NewWorkers returns a pool of n workers (at least 1).
func NewWorkers(n int) *Workers {
	return &Workers{slots: make(chan struct{}, max(n, 1))}
}

// Go runs fn on a worker, waiting for a free one first.
func (w *Workers) Go(fn func()) {
	w.slots <- struct{}{}
	w.wg.Add(1)
	go func() {
		defer func() {
			<-w.slots
			w.wg.Done()
		}()
		fn()
	}()
}

// Wait returns once every started fn returned, or ctx's error if ctx ends
// first.
func (w *Workers) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
