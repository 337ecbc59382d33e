package main

import (
	"context"
	"sync"
)

// gate is open while no order is being retried. The producer sends new
// orders only through an open gate, so that orders refused (a full
// stream, an outage) keep their place: were new ones sent as soon as a
// slot frees, they would take the room a consumer makes while the refused
// ones sit out their back-off, and an old order could wait for ever.
type gate struct {
	mu     sync.Mutex
	closed int           // orders being retried
	open   chan struct{} // closed while closed == 0
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

// hold closes the gate until a matching release.
func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == 0 {
		g.open = make(chan struct{})
	}
	g.closed++
}

// release undoes one hold.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed--
	if g.closed == 0 {
		close(g.open)
	}
}

// wait returns true once the gate is open, false if ctx ends first.
func (g *gate) wait(ctx context.Context) bool {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return true
	case <-ctx.Done():
		return false
	}
}
