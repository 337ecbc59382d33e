package messaging

import (
	"context"
	"sync"
	"time"
)

// workerIdle is how long a worker whose handler returned waits for the
// next one before its goroutine ends. A goroutine that runs handler after
// handler keeps the stack the first one grew (a JSON decode grows a fresh
// goroutine's stack, one copy per doubling) until a garbage collection
// finds it mostly unused; a new goroutine per message would pay that
// growth for every message.
const workerIdle = time.Second

// Workers runs handlers on at most n goroutines at once. Go blocks while
// all n are busy, which pushes back on the transport instead of queueing
// without bound in the process: no message is ever lost to our own
// buffering.
type Workers struct {
	// slots holds a token per live worker goroutine, busy or idle.
	slots chan struct{}
	// next hands a handler to an idle worker; unbuffered, so a handler is
	// only ever taken by a worker ready to run it at once.
	next chan func()
	wg   sync.WaitGroup
}

// NewWorkers returns a pool of n workers (at least 1).
func NewWorkers(n int) *Workers {
	return &Workers{slots: make(chan struct{}, max(n, 1)), next: make(chan func())}
}

// Go runs fn on a worker, waiting for a free one first: an idle worker
// takes it, or a new one starts while fewer than n live.
func (w *Workers) Go(fn func()) {
	w.wg.Add(1)
	select {
	case w.next <- fn: // an idle worker first: its stack has grown already
		return
	default:
	}
	select {
	case w.next <- fn:
	case w.slots <- struct{}{}:
		go w.work(fn)
	}
}

// work runs fn, then the handlers handed to it, until none comes for
// workerIdle; then it frees its slot.
func (w *Workers) work(fn func()) {
	idle := time.NewTimer(workerIdle)
	defer func() {
		idle.Stop()
		<-w.slots
	}()
	for {
		w.run(fn)
		idle.Reset(workerIdle)
		select {
		case fn = <-w.next:
		case <-idle.C:
			return
		}
	}
}

// run runs fn and counts it done, even if fn panics.
func (w *Workers) run(fn func()) {
	defer w.wg.Done()
	fn()
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
