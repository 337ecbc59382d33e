package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// Delivery modes the binaries run in (DELIVERY_MODE).
const (
	modeJetStream = "jetstream"
	modeCore      = "core"
)

// Bounds of a step's waits: how long a broken step hangs, not how long a
// working one takes.
const (
	runBound = 90 * time.Second // a producer's whole run, a drain
	// consumerBound: a consumer's start until subscribed, its shutdown.
	consumerBound = 30 * time.Second
	// quiet: in core mode an order the consumer dropped never arrives,
	// so a drain ends when no order arrived for this long.
	quiet = time.Second
)

// Throughput is one run's rate and cost.
type Throughput struct {
	Orders     int     // orders they logged
	Rate       float64 // orders per second, from the log timestamps
	CPUPer1000 float64 // CPU-seconds per 1,000 orders, all processes together
	MaxRSSMB   float64 // largest peak resident set (VmHWM) of the processes
	// Cost is the CPU per order of the run's services and of nats-server,
	// read over the same interval.
	Cost     OrderCost
	Warnings Warnings
}

// Warnings counts the WARN and ERROR log lines of a step's processes, per
// message: a step whose orders were retried or redelivered measured that
// too, and its report says so.
type Warnings map[string]int

// add counts w's lines in too.
func (w *Warnings) add(more map[string]int) {
	for msg, n := range more {
		if *w == nil {
			*w = Warnings{}
		}
		(*w)[msg] += n
	}
}

// String lists the messages with their counts, most frequent first.
func (w Warnings) String() string {
	msgs := slices.Collect(maps.Keys(w))
	slices.SortFunc(msgs, func(a, b string) int { return cmp.Or(w[b]-w[a], strings.Compare(a, b)) })
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprintf("%q ×%d", m, w[m])
	}
	return strings.Join(parts, ", ")
}

// session is one measurement: a fresh server and the binaries, run as
// the step t's processes.
type session struct {
	t      *step
	bins   Bins
	mode   string
	url    string
	server *testkit.Proc // its CPU is read over a drain
}

func newSession(t *step, bins Bins, mode string) *session {
	url, server := startServer(t, bins.Server)
	return &session{t: t, bins: bins, mode: mode, url: url, server: server}
}

// start runs bin as the process name, its waits bounded by bound, its
// peak resident set watched.
func (s *session) start(bin, name string, bound time.Duration, extra ...string) *testkit.Proc {
	return testkit.Start(s.t, bin, serviceEnv(s.url, s.mode, name, extra...),
		testkit.Name(name), testkit.PeakRSS(), testkit.WaitBound(bound))
}

func (s *session) producer(extra ...string) *testkit.Proc {
	return s.start(s.bins.Producer, "producer", runBound, extra...)
}

// consumers starts k consumers, with extra settings, and waits until each
// is subscribed.
func (s *session) consumers(k int, extra ...string) []*testkit.Proc {
	var ps []*testkit.Proc
	for i := range k {
		ps = append(ps, s.start(s.bins.Consumer, "consumer-"+strconv.Itoa(i+1), consumerBound, extra...))
	}
	for _, p := range ps {
		p.AwaitLogged(s.t, msgConsuming, 1)
	}
	return ps
}

// publish runs a producer to completion: n orders at rate per second
// (0: as fast as the server acknowledges).
func (s *session) publish(n int, rate float64) (*testkit.Proc, testkit.Usage) {
	p := s.startPublishing(n, rate)
	return p, finish(s.t, p)
}

// startPublishing starts a producer of n orders at rate per second and
// returns without waiting for it.
func (s *session) startPublishing(n int, rate float64) *testkit.Proc {
	// Set, not left to the caller's environment: an exported PUBLISH_RATE
	// or VERIFY_TIMEOUT would change what is measured.
	return s.producer("PUBLISH_COUNT="+strconv.Itoa(n), "PUBLISH_INTERVAL=0",
		"PUBLISH_RATE="+strconv.FormatFloat(rate, 'f', -1, 64), "VERIFY_TIMEOUT=0s")
}

// drain awaits the consumers' n orders, then stops them and sums up.
func drain(t *step, ps []*testkit.Proc, n int, mode string) (Throughput, []Event) {
	awaitDrain(t, ps, n, mode)
	return collect(t, ps)
}

// awaitDrain waits until the consumers logged n orders between them (in
// core mode: or until none arrived for `quiet`, the rest was dropped).
func awaitDrain(t *step, ps []*testkit.Proc, n int, mode string) {
	total := func() int {
		s := 0
		for _, p := range ps {
			s += p.Count(msgReceived)
		}
		return s
	}
	last, lastAt := -1, time.Now()
	testkit.Eventually(t, fmt.Sprintf("%d consumers: %d orders", len(ps), n), runBound, func() (bool, string) {
		got := total()
		if got != last {
			last, lastAt = got, time.Now()
		}
		return got >= n || (mode == modeCore && time.Since(lastAt) > quiet), fmt.Sprintf("%d orders", got)
	})
}

// collect stops the consumers and sums up their run. The rate counts only
// orders received once the last of them was subscribed: the first would
// otherwise drain alone while the others start.
func collect(t *step, ps []*testkit.Proc) (Throughput, []Event) {
	var (
		evs []Event
		tp  Throughput
		cpu time.Duration
	)
	for _, p := range ps {
		u := stop(t, p)
		cpu += u.CPU
		tp.MaxRSSMB = max(tp.MaxRSSMB, u.MaxRSSMB)
		tp.Warnings.add(p.Warnings())
		evs = append(evs, logEvents(p)...)
	}
	times := Times(evs, msgReceived)
	tp.Orders, tp.Rate = len(times), Rate(Since(times, Latest(Times(evs, msgConsuming))))
	tp.CPUPer1000 = PerThousand(cpu.Seconds(), tp.Orders)
	return tp, evs
}
