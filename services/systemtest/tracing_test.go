package systemtest

import (
	"fmt"
	"testing"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/internal/tracingtest"
	"github.com/distsys-go/orders/platform/tracing"
	"github.com/distsys-go/orders/test/audit"
)

// Span names the services' tracing gives, and the attribute that counts
// a message's deliveries.
var (
	publishSpan    = tracing.PublishSpan(names.Orders)
	processSpan    = tracing.ProcessSpan(names.Orders)
	ledgerSpan     = tracing.LedgerRecordSpan
	deadLetterSpan = tracing.PublishSpan(names.DeadLetters)
	deliveryAttr   = string(tracing.DeliveryCountKey)
)

// traced is env with tracing sent to rcv.
func traced(rcv *tracingtest.Receiver, natsURL, instance string, extra ...string) []string {
	return env(natsURL, instance, append([]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL}, extra...)...)
}

// spansOf returns the spans of a trace by name.
func spansOf(rcv *tracingtest.Receiver, traceID string) map[string][]tracingtest.Span {
	out := map[string][]tracingtest.Span{}
	for _, s := range rcv.Spans() {
		if s.TraceID == traceID {
			out[s.Name] = append(out[s.Name], s)
		}
	}
	return out
}

// publishSpanOf returns the producer's one publish span of order id.
func publishSpanOf(t *testing.T, rcv *tracingtest.Receiver, id string) tracingtest.Span {
	t.Helper()
	var found []tracingtest.Span
	for _, s := range rcv.Named(publishSpan) {
		if s.Attrs["order.id"] == id {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("order %s: %d publish spans %+v, want 1", id, len(found), found)
	}
	if s := found[0]; s.Service != "producer" || s.ParentID != "" || s.Attrs["messaging.system"] != "nats" || s.Attrs["messaging.message.id"] != id {
		t.Errorf("publish span %+v: want a root span of service producer, system nats, message id %s", s, id)
	}
	return found[0]
}

// logTrace checks that p logged msg for order id in span (trace_id and
// span_id of its line).
func logTrace(t *testing.T, p *testkit.Proc, msg, key, id string, span tracingtest.Span) {
	t.Helper()
	for _, r := range p.Logged(msg) {
		if r.String(key) != id {
			continue
		}
		if r.String("trace_id") != span.TraceID || r.String("span_id") != span.SpanID {
			t.Errorf("%s %q for %s: trace_id %q span_id %q, want %s %s", p.Name, msg, id, r.String("trace_id"), r.String("span_id"), span.TraceID, span.SpanID)
		}
		return
	}
	t.Errorf("%s did not log %q for %s", p.Name, msg, id)
}

// Each order is one trace across both processes: the producer's publish
// span, the consumer's process span as its child, the ledger write as the
// process span's child; and the log lines about the order name those
// spans. Both processes export their last spans when they stop.
func TestOneTracePerOrder(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	srv := natstest.Run(t)
	c1 := start(t, "consumer", traced(rcv, srv.ClientURL(), "c1"))
	prod := start(t, "producer", traced(rcv, srv.ClientURL(), "p1", "PUBLISH_INTERVAL=0", "PUBLISH_COUNT=5"))
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	published := audit.PublishedIDs(prod)
	testkit.Eventually(t, "every order is logged as received", testkit.Bound, func() (bool, string) { return missing(published, c1) })
	if code := c1.Terminate(t); code != 0 {
		t.Fatalf("consumer exit %d: %s", code, c1.Stderr())
	}

	for _, id := range published {
		pub := publishSpanOf(t, rcv, id)
		trace := spansOf(rcv, pub.TraceID)
		procs, leds := trace[processSpan], trace[ledgerSpan]
		if len(procs) != 1 || len(leds) != 1 {
			t.Errorf("order %s: trace %s has %d process and %d ledger spans, want 1 each", id, pub.TraceID, len(procs), len(leds))
			continue
		}
		proc := procs[0]
		if proc.Service != "consumer" || proc.ParentID != pub.SpanID || proc.Attrs["order.id"] != id ||
			proc.Attrs[deliveryAttr] != "1" || proc.Attrs["messaging.consumer.group.name"] != names.Durable {
			t.Errorf("order %s: process span %+v, want the consumer's first delivery, a child of publish span %s", id, proc, pub.SpanID)
		}
		if leds[0].ParentID != proc.SpanID || leds[0].Error {
			t.Errorf("order %s: ledger span %+v, want a successful child of process span %s", id, leds[0], proc.SpanID)
		}
		logTrace(t, prod, "published order", "order_id", id, pub)
		logTrace(t, c1, "received order", "order_id", id, proc)
	}
}

// An order whose ledger write fails (the bucket is gone) is redelivered,
// then dead-lettered on its MAX_DELIVER-th delivery: its trace has a
// process span per delivery, each a child of the publish span, and the
// dead letter's publish span under the last.
func TestRedeliveredAndDeadLetteredOrderIsOneTrace(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	srv := natstest.Run(t)
	c1 := start(t, "consumer", traced(rcv, srv.ClientURL(), "c1", "MAX_DELIVER=2"))
	c1.WaitReady(t)
	sealLedger(t, jetStream(t, srv))
	prod := start(t, "producer", traced(rcv, srv.ClientURL(), "p1", "PUBLISH_COUNT=1"))
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	id := audit.PublishedIDs(prod)[0]
	testkit.Eventually(t, "the order is dead-lettered", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("message dead-lettered"))
		return n > 0, fmt.Sprintf("%d dead-lettered lines", n)
	})
	if code := c1.Terminate(t); code != 0 {
		t.Fatalf("consumer exit %d: %s", code, c1.Stderr())
	}

	pub := publishSpanOf(t, rcv, id)
	trace := spansOf(rcv, pub.TraceID)
	byDelivery := map[string]tracingtest.Span{}
	for _, s := range trace[processSpan] {
		if s.ParentID != pub.SpanID {
			t.Errorf("process span %+v: want a child of publish span %s", s, pub.SpanID)
		}
		byDelivery[s.Attrs[deliveryAttr]] = s
	}
	if len(trace[processSpan]) != 2 || byDelivery["1"].SpanID == "" || byDelivery["2"].SpanID == "" {
		t.Fatalf("process spans %+v: want deliveries 1 and 2 in trace %s", trace[processSpan], pub.TraceID)
	}
	for _, s := range trace[ledgerSpan] {
		if !s.Error {
			t.Errorf("ledger span %+v: want an error, the bucket is gone", s)
		}
	}
	dead := trace[deadLetterSpan]
	if len(dead) != 1 || dead[0].ParentID != byDelivery["2"].SpanID || dead[0].Service != "consumer" || dead[0].Error {
		t.Fatalf("dead-letter spans %+v: want one successful child of the second process span %s", dead, byDelivery["2"].SpanID)
	}
	logTrace(t, c1, "order processing failed; will be redelivered", "order_id", id, byDelivery["1"])
	logTrace(t, c1, "message dead-lettered", "msg_id", id, byDelivery["2"])
}

// An order whose every delivery stalls is dead-lettered from the server's
// max-deliveries advisory, outside any process span: the dead letter still
// joins the order's trace, from the stored message's headers. (The stalled
// process spans never end, so they are never exported.)
func TestStalledOrderDeadLetterJoinsItsTrace(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	srv := natstest.Run(t)
	// The batch span processor exports every 100ms instead of every 5s
	// (OTEL_BSP_SCHEDULE_DELAY, read by the SDK), since this consumer is
	// not stopped to flush.
	c1 := start(t, "consumer", traced(rcv, srv.ClientURL(), "c1", "MAX_DELIVER=2", "ACK_WAIT=1s", "WORK_TIME=1h", "OTEL_BSP_SCHEDULE_DELAY=100"))
	c1.WaitReady(t)
	prod := start(t, "producer", traced(rcv, srv.ClientURL(), "p1", "PUBLISH_COUNT=1"))
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	pub := publishSpanOf(t, rcv, audit.PublishedIDs(prod)[0])
	testkit.Eventually(t, "the dead letter's span is exported", testkit.Bound, func() (bool, string) {
		n := len(spansOf(rcv, pub.TraceID)[deadLetterSpan])
		return n > 0, fmt.Sprintf("%d dead-letter spans in trace %s", n, pub.TraceID)
	})
	dead := spansOf(rcv, pub.TraceID)[deadLetterSpan]
	if len(dead) != 1 || dead[0].ParentID != pub.SpanID || dead[0].Service != "consumer" || dead[0].Error {
		t.Errorf("dead-letter spans %+v: want one successful child of the publish span %s", dead, pub.SpanID)
	}
}
