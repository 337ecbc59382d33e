package main

import (
	"context"
	"errors"
	"testing"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// A new leader's announcement ends the current term (its context is
// cancelled, and a wait cut short by it reads as errNewLeader) and starts
// a fresh one; without elections the term never ends.
func TestTermsEndAtANewLeader(t *testing.T) {
	srv := natstest.Run(t)
	nc := srv.Connect(t)
	el, err := jetstream.WatchElections(nc, jetstream.StreamLeaderElected("ORDERS"))
	if err != nil {
		t.Fatal(err)
	}
	defer el.Stop()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	tm := watchTerms(context.Background(), el, done)
	first := tm.current()

	// The announcement the new leader would send (its body is not read).
	if err := nc.Publish(jetstream.StreamLeaderElected("ORDERS"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the first term ends", testkit.Bound, func() (bool, string) { return first.Err() != nil, "" })
	if err := ended(first, first.Err()); !errors.Is(err, errNewLeader) || !errors.Is(err, messaging.ErrUnavailable) {
		t.Errorf("a wait cut short by the new leader: %v, want errNewLeader (unavailable)", err)
	}
	testkit.Eventually(t, "a fresh term", testkit.Bound, func() (bool, string) { return tm.current() != first, "" })
	if err := tm.current().Err(); err != nil {
		t.Errorf("the new term is over already: %v", err)
	}
	if err := ended(tm.current(), context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a timeout in a running term: %v, want it unchanged", err)
	}

	never := watchTerms(context.Background(), nil, done)
	if never.current().Done() == nil || never.current().Err() != nil {
		t.Error("without elections the term should run until shutdown")
	}
}
