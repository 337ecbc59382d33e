package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// TestFullStreamIsReportedAndRetriedInPlace fills a deliberately small
// stream: the producer says why it is stuck (log, metric, readiness),
// keeps retrying the refused orders, and carries on from them once there
// is room again, losing and doubling nothing. With one order in flight the
// refused one keeps its place; with a window the refused ones are the next
// stored, in whichever order their retries land.
func TestFullStreamIsReportedAndRetriedInPlace(t *testing.T) {
	for _, window := range []int{1, 8} {
		t.Run(fmt.Sprint("window=", window), func(t *testing.T) { testFullStream(t, window) })
	}
}

func testFullStream(t *testing.T, window int) {
	srv := natstest.Run(t)
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, natsjs.StreamConfig{
		Name: "ORDERS", Subjects: []string{"orders.>"}, Retention: natsjs.WorkQueuePolicy,
		MaxMsgs: 3, Discard: natsjs.DiscardNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.SyncBuffer
	p := newTestProducer(jetstream.NewPublisher(js), 5)
	p.window = window
	p.log = slog.New(slog.NewJSONHandler(&logs, nil))
	type result struct {
		ids []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		ids, err := p.run(ctx)
		done <- result{ids, err}
	}()

	testkit.Eventually(t, "the producer reports the full stream", testkit.Bound, func() (bool, string) {
		return errors.Is(p.health.Check(), messaging.ErrFull) &&
			testutil.ToFloat64(p.metrics.publishErrors.WithLabelValues(reasonFull)) >= 2, ""
	})
	if err := p.health.Check(); !strings.Contains(err.Error(), "publishing failing (full)") {
		t.Errorf("readiness says %q, want the reason", err)
	}
	if got := testutil.ToFloat64(p.metrics.published); got != 3 {
		t.Errorf("published %v while the stream holds 3, want 3", got)
	}
	if !strings.Contains(logs.String(), "storage full") {
		t.Errorf("no log line says the storage is full:\n%s", logs.String())
	}

	// Room is made here by a purge; services/systemtest's
	// TestFullStreamRefusesThenDrains makes it with a consumer.
	if err := stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the producer did not finish once there was room")
	}
	if res.err != nil || len(res.ids) != 5 {
		t.Fatalf("run: %d ids, %v; want 5, nil", len(res.ids), res.err)
	}
	if err := p.health.Check(); err != nil {
		t.Errorf("readiness after recovery: %v", err)
	}
	// The order that was refused is the next one stored: its place kept,
	// stored once despite the retries.
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d orders after the purge, want the 2 refused ones", info.State.Msgs)
	}
	var stored []string
	for i := range info.State.Msgs {
		m, err := stream.GetMsg(ctx, info.State.FirstSeq+i)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, m.Header.Get("Nats-Msg-Id"))
	}
	refused := slices.Clone(res.ids[3:])
	if window > 1 {
		slices.Sort(stored)
		slices.Sort(refused)
	}
	if !slices.Equal(stored, refused) {
		t.Errorf("stored after the purge %v, want the refused orders %v", stored, refused)
	}
}
