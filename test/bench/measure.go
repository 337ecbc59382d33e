package main

import (
	"cmp"
	"errors"
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
	startBound = 30 * time.Second
	runBound   = 90 * time.Second
	stopBound  = 30 * time.Second
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
	Warnings   Warnings
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

// session is one measurement: a fresh server, the binaries, and what they did.
type session struct {
	bins Bins
	mode string
	srv  *Server
	all  []*Proc
}

func newSession(bins Bins, mode string) (*session, error) {
	srv, err := StartServer(bins.Server)
	if err != nil {
		return nil, err
	}
	return &session{bins: bins, mode: mode, srv: srv}, nil
}

// close kills whatever still runs and stops the server.
func (s *session) close() {
	for _, p := range s.all {
		p.Kill()
	}
	s.srv.Stop()
}

func (s *session) producer(name string, extra ...string) (*Proc, error) {
	p, err := StartProc(name, s.bins.Producer, serviceEnv(s.srv.URL, s.mode, name, extra...))
	if err == nil {
		s.all = append(s.all, p)
	}
	return p, err
}

// consumers starts k consumers and waits until each is subscribed.
func (s *session) consumers(k int) ([]*Proc, error) {
	var ps []*Proc
	for i := range k {
		name := "consumer-" + strconv.Itoa(i+1)
		p, err := StartProc(name, s.bins.Consumer, serviceEnv(s.srv.URL, s.mode, name))
		if err != nil {
			return nil, err
		}
		s.all = append(s.all, p)
		ps = append(ps, p)
	}
	for _, p := range ps {
		if err := p.WaitLogged(msgConsuming, 1, startBound); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// publish runs a producer to completion: n orders at rate per second
// (0: as fast as the server acknowledges).
func (s *session) publish(n int, rate float64) (*Proc, Usage, error) {
	// Set, not left to the caller's environment: an exported PUBLISH_RATE
	// or VERIFY_TIMEOUT would change what is measured.
	p, err := s.producer("producer", "PUBLISH_COUNT="+strconv.Itoa(n), "PUBLISH_INTERVAL=0",
		"PUBLISH_RATE="+strconv.FormatFloat(rate, 'f', -1, 64), "VERIFY_TIMEOUT=0s")
	if err != nil {
		return nil, Usage{}, err
	}
	u, err := p.Wait(runBound)
	return p, u, err
}

// drain waits until the consumers logged n orders between them (in core
// mode: or until none arrived for `quiet`, the rest was dropped), then
// stops them and sums up. The rate counts only orders received once the
// last of them was subscribed: the first would otherwise drain alone while
// the others start.
func drain(ps []*Proc, n int, mode string) (Throughput, []Event, error) {
	total := func() int {
		s := 0
		for _, p := range ps {
			s += p.Count(msgReceived)
		}
		return s
	}
	last, lastAt := -1, time.Now()
	err := testkit.Await(stderrLog{}, fmt.Sprintf("%d consumers: %d orders", len(ps), n), runBound, func() (bool, string) {
		t := total()
		if t != last {
			last, lastAt = t, time.Now()
		}
		return t >= n || (mode == modeCore && time.Since(lastAt) > quiet), fmt.Sprintf("%d orders", t)
	})
	if err != nil {
		return Throughput{}, nil, err
	}
	var (
		evs  []Event
		tp   Throughput
		cpu  time.Duration
		errs []error
	)
	for _, p := range ps {
		u, err := p.Stop(stopBound)
		errs = append(errs, err)
		cpu += u.CPU
		tp.MaxRSSMB = max(tp.MaxRSSMB, u.MaxRSSMB)
		tp.Warnings.add(p.Warnings())
		evs = append(evs, p.Events()...)
	}
	times := Times(evs, msgReceived)
	tp.Orders, tp.Rate = len(times), Rate(Since(times, Latest(Times(evs, msgConsuming))))
	tp.CPUPer1000 = PerThousand(cpu.Seconds(), tp.Orders)
	return tp, evs, errors.Join(errs...)
}
