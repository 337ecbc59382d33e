package service

import (
	"io"
	"sync"
)

// maxBatched bounds what a batchWriter holds before Write waits for the
// output: a stuck stdout slows the service down instead of growing its
// memory without bound.
const maxBatched = 1 << 20

// batchWriter hands what is written to w from one goroutine, as many log
// lines per write as accumulated while the previous write ran. A service
// that logs a line per order otherwise makes a write system call per
// order, each holding the logger's lock: at thousands of orders a second
// those calls, not the orders, limit it. Nothing waits for a timer, so a
// line is as late as one write of the lines before it; Close writes what
// is left.
type batchWriter struct {
	w    io.Writer
	mu   sync.Mutex
	cond *sync.Cond // signalled when buf fills or empties, and on Close
	buf  []byte
	shut bool
	done chan struct{}
}

var _ io.WriteCloser = (*batchWriter)(nil)

// newBatchWriter starts a batchWriter on w; Close it to write the rest.
func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: w, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.loop()
	return b
}

// Write queues p for w. It never fails: an output error is the output's
// (a log line has nowhere else to go). After Close it writes through.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) >= maxBatched && !b.shut {
		b.cond.Wait()
	}
	if !b.shut {
		b.buf = append(b.buf, p...)
		b.cond.Broadcast()
		b.mu.Unlock()
		return len(p), nil
	}
	b.mu.Unlock()
	<-b.done // after what was queued before Close
	return b.w.Write(p)
}

// loop writes out what accumulated, until Close and the rest is written.
func (b *batchWriter) loop() {
	defer close(b.done)
	var spare []byte
	for {
		b.mu.Lock()
		for len(b.buf) == 0 && !b.shut {
			b.cond.Wait()
		}
		if len(b.buf) == 0 {
			b.mu.Unlock()
			return
		}
		out := b.buf
		b.buf = spare[:0]
		b.cond.Broadcast()
		b.mu.Unlock()
		_, _ = b.w.Write(out)
		spare = out
	}
}

// Close writes what is queued and returns once it is written; later
// Writes go straight to w.
func (b *batchWriter) Close() error {
	b.mu.Lock()
	b.shut = true
	b.cond.Broadcast()
	b.mu.Unlock()
	<-b.done
	return nil
}
