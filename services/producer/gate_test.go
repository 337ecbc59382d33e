package main

import (
	"context"
	"testing"
)

// The gate is open until held, stays closed until every hold is released,
// and a wait on a closed gate ends with its context.
func TestGate(t *testing.T) {
	g := newGate()
	if !g.wait(context.Background()) {
		t.Fatal("a new gate is closed")
	}
	g.hold()
	g.hold()
	g.release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if g.wait(ctx) {
		t.Fatal("open with one hold left")
	}
	opened := make(chan bool)
	go func() { opened <- g.wait(context.Background()) }()
	g.release()
	if !<-opened {
		t.Fatal("closed after every hold was released")
	}
}
