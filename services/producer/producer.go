package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/ops"
	"github.com/distsys-go/orders/platform/tracing"
)

// producer publishes orders at a steady pace, up to window of them
// awaiting their acknowledgement at once.
type producer struct {
	pub messaging.Publisher
	// elections wakes retries when the stream has a new leader (nil: no
	// leaders to wait for); terms ends the waits for acknowledgements of
	// what was sent to the old one (run starts it).
	elections *jetstream.Elections
	terms     *terms
	subject   string
	version   events.Version
	currency  string // of v2 orders' prices
	pace      *rate.Limiter
	count     int  // 0: until stopped
	keepIDs   bool // keep the acknowledged ids (for VERIFY_TIMEOUT)
	window    int  // orders in flight at most; 1 waits for each ack
	timeout   time.Duration
	products  []string
	metrics   *metrics
	health    *ops.Streak // /readyz while publishing fails
	log       *slog.Logger
	tracing   *tracing.Provider // nil: off
	now       func() time.Time

	mu        sync.Mutex
	published int      // acknowledged orders so far
	ids       []string // their ids, when keepIDs
	err       error    // why the producer stopped on its own
}

// paceBurst is how much of a second's orders may go out at once. With a
// burst of one order every timer that fires late is time lost for good,
// and a high PUBLISH_RATE is never reached; a millisecond's worth lets the
// pace catch up while keeping bursts, and the latency they add, small
// (measured: docs/performance.md, "Producer window").
const paceBurst = 1000 // 1/1000 s

// pace turns the settings into a limiter: PUBLISH_RATE per second when
// set, else one order per PUBLISH_INTERVAL, or no limit for 0.
func pace(s settings) *rate.Limiter {
	switch {
	case s.Rate > 0:
		return rate.NewLimiter(rate.Limit(s.Rate), max(1, int(s.Rate)/paceBurst))
	case s.Interval > 0:
		return rate.NewLimiter(rate.Every(s.Interval), 1)
	default:
		return rate.NewLimiter(rate.Inf, 1)
	}
}

// run issues orders until ctx ends, count orders were issued or one could
// not be published, keeping at most window of them unacknowledged and
// none new while one is retried; then it waits for those in flight and
// returns the ids acknowledged (with keepIDs; else none: at full rate
// they are the producer's largest use of memory). An order counts as
// published only on its own acknowledgement: one whose last attempt fails
// after ctx ended is logged as not published, not counted.
func (p *producer) run(ctx context.Context) ([]string, error) {
	// Cancelled on shutdown, or by the first order that cannot be
	// published: either way no new order is issued.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	termsDone := make(chan struct{})
	defer close(termsDone)
	p.terms = watchTerms(ctx, p.elections, termsDone)
	// A slot per order in flight, taken when it is issued and freed once it
	// is acknowledged or given up; sent orders queue for their
	// acknowledgements in the order they went out, which is the order the
	// server answers in.
	slots := make(chan struct{}, max(p.window, 1))
	sent := make(chan *inFlight, cap(slots))
	var retries sync.WaitGroup
	retrying := newGate()
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		p.collect(ctx, sent, slots, &retries, retrying, stop)
	}()
	sendCtx := context.WithoutCancel(ctx)
	for issued := 0; p.count == 0 || issued < p.count; issued++ {
		if p.pace.Wait(ctx) != nil || !retrying.wait(ctx) || !acquire(ctx, slots) {
			break
		}
		sent <- p.send(sendCtx)
	}
	close(sent)
	<-collected
	retries.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids, p.err
}

// acquire takes a slot of the window, waiting for one to free; false when
// ctx ended first.
func acquire(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if ctx.Err() != nil { // both were ready and select took the slot
		<-slots
		return false
	}
	return true
}

// newOrder makes an order the producer's event version can carry: one
// line without a price for v1, one to three priced lines for later ones.
func (p *producer) newOrder() events.Order {
	o := events.Order{ID: events.NewOrderID(), Version: p.version.Name, CreatedAt: p.now().UTC()}
	line := func() events.Line {
		return events.Line{SKU: p.products[rand.IntN(len(p.products))], Quantity: 1 + rand.IntN(5)}
	}
	if p.version.Name == events.V1.Name {
		o.Lines = []events.Line{line()}
		return o
	}
	o.Currency = p.currency
	for range 1 + rand.IntN(3) {
		l := line()
		l.UnitPrice = int64(50 + rand.IntN(5000))
		o.Lines = append(o.Lines, l)
	}
	return o
}
