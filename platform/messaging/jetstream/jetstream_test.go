package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

func newJetStream(t testing.TB, srv *natstest.Server) natsjs.JetStream {
	t.Helper()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

var testStream = jetstream.StreamConfig{
	Name: "CONFORMANCE", Subjects: []string{"conformance.>"}, Replicas: 1,
	MaxBytes: 8 << 20, MaxAge: time.Hour, DuplicateWindow: time.Minute,
}

func TestConformance(t *testing.T) {
	messagingtest.Run(t, func(t *testing.T, ackWait time.Duration) messagingtest.Setup {
		srv := natstest.Run(t)
		js := newJetStream(t, srv)
		if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
			t.Fatal(err)
		}
		return messagingtest.Setup{
			Publisher: jetstream.NewPublisher(js),
			NewSubscriber: func(t *testing.T) messaging.Subscriber {
				return jetstream.NewSubscriber(newJetStream(t, srv), testStream.Name, "workers",
					jetstream.ConsumerConfig{AckWait: ackWait, MaxAckPending: 100, PullMaxMessages: 4})
			},
			Features: messagingtest.Features{Redelivery: true, PublishDedup: true, Retains: true},
		}
	})
}

func TestEnsureStreamIsIdempotent(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	// Update requests are plain NATS messages: watch them, on a connection
	// of their own. The flush puts the subscription in place at the server
	// before the first request; without it the SUB could arrive after the
	// update, which would then go unseen.
	counter := srv.Connect(t)
	updates, err := counter.SubscribeSync("$JS.API.STREAM.UPDATE." + testStream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := counter.Flush(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
			t.Fatalf("ensure stream: %v", err)
		}
	}
	changed := testStream
	changed.MaxAge = 2 * time.Hour
	changed.MaxBytes = 16 << 20
	s, err := jetstream.EnsureStream(context.Background(), js, changed)
	if err != nil {
		t.Fatalf("update stream: %v", err)
	}
	if got := s.CachedInfo().Config; got.MaxAge != 2*time.Hour || got.MaxBytes != 16<<20 {
		t.Errorf("max age %v, max bytes %d after update, want 2h, 16 MiB", got.MaxAge, got.MaxBytes)
	}
	if got := s.CachedInfo().Config; got.Retention != natsjs.WorkQueuePolicy || got.Discard != natsjs.DiscardNew {
		t.Errorf("retention %s, discard %s; want WorkQueue, DiscardNew", got.Retention, got.Discard)
	}
	// The copies reach the counter asynchronously, so wait for the first
	// one instead of counting what has arrived so far. The server handles
	// one connection's requests in order, so an update sent by one of the
	// three unchanged calls would arrive before the changed one: the first
	// update must be the changed config.
	m, err := updates.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("no stream update request: %v", err)
	}
	var req natsjs.StreamConfig
	if err := json.Unmarshal(m.Data, &req); err != nil {
		t.Fatalf("update request %q: %v", m.Data, err)
	}
	if req.MaxAge != 2*time.Hour {
		t.Errorf("first stream update request has max age %v, want 2h: only the changed config is an update", req.MaxAge)
	}
}

// A stream left by an older release (Limits retention) cannot become a
// work queue in place: EnsureStream says so once, naming the stream, both
// policies and the way out, and leaves the stream as it was.
func TestEnsureStreamRefusesRetentionChange(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	if _, err := js.CreateStream(context.Background(), natsjs.StreamConfig{
		Name: testStream.Name, Subjects: testStream.Subjects, Retention: natsjs.LimitsPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := jetstream.EnsureStream(context.Background(), js, testStream)
	if !errors.Is(err, jetstream.ErrRetentionChange) {
		t.Fatalf("ensure stream: %v, want ErrRetentionChange", err)
	}
	for _, want := range []string{"STREAM_NAME=" + testStream.Name, "retention Limits", "want WorkQueue", "nats stream rm"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	info, err := js.Stream(context.Background(), testStream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.Retention; got != natsjs.LimitsPolicy {
		t.Errorf("retention %s after the refused update, want it untouched", got)
	}
}

// A replica that dies holding an unacknowledged message (its connection
// gone, no Drain) must not lose it: another replica gets it once the ack
// wait expires.
func TestRedeliveryAfterReplicaDiesWithoutAck(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		t.Fatal(err)
	}
	cfg := jetstream.ConsumerConfig{AckWait: 500 * time.Millisecond, MaxAckPending: 100, PullMaxMessages: 1}

	doomedConn := srv.Connect(t)
	doomedJS, err := natsjs.New(doomedConn)
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan *messaging.Message, 1)
	if _, err := jetstream.NewSubscriber(doomedJS, testStream.Name, "workers", cfg).Subscribe(context.Background(), messagingtest.Subject,
		func(_ context.Context, m *messaging.Message) { held <- m }); err != nil {
		t.Fatal(err)
	}
	pub := jetstream.NewPublisher(js)
	if err := pub.Publish(context.Background(), messaging.NewMessage(messagingtest.Subject, "crash-1", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("first replica got nothing")
	}
	doomedConn.Close() // dies without acking

	survivor := make(chan *messaging.Message, 1)
	if _, err := jetstream.NewSubscriber(newJetStream(t, srv), testStream.Name, "workers", cfg).Subscribe(context.Background(), messagingtest.Subject,
		func(_ context.Context, m *messaging.Message) { _ = m.Ack(); survivor <- m }); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-survivor:
		// At least 2, not exactly: on a loaded machine the ack wait can
		// pass once more before the doomed replica's connection closes.
		if m.ID != "crash-1" || m.Deliveries < 2 {
			t.Fatalf("survivor got %s with %d deliveries, want crash-1 redelivered (2 or more)", m.ID, m.Deliveries)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the unacknowledged message was never redelivered")
	}
}
