package main

import "time"

// idleSettle is how long both services sit idle after start-up before
// their resident memory is read.
const idleSettle = time.Second

// Latency is the end-to-end age of orders published at a fixed rate with
// one consumer.
type Latency struct {
	Target   float64 // PUBLISH_RATE
	Achieved float64 // the producer's rate from its log
	Summary
	Ages     []float64 // ms, for the CDF plot
	Warnings Warnings
}

// IdleRSS is each service's resident memory started and idle, in MiB.
type IdleRSS struct{ Producer, Consumer float64 }

// measureProducer publishes n orders as fast as the server acknowledges,
// with no consumer running.
func measureProducer(bins Bins, mode string, n int) (tp Throughput, err error) {
	err = runStep(func(t *step) {
		s := newSession(t, bins, mode)
		before := s.sample()
		p, u := s.publish(n, 0)
		times := Times(logEvents(p), msgPublished)
		tp = Throughput{
			Orders: len(times), Rate: Rate(times),
			CPUPer1000: PerThousand(u.CPU.Seconds(), len(times)), MaxRSSMB: u.MaxRSSMB,
			Cost: costOver(before, s.sample(p), roleProducer, len(times)),
		}
		tp.Warnings.add(p.Warnings())
	})
	return tp, err
}

// measureConsumers has k consumers take n orders. In JetStream mode the
// producer stores them first and the consumers then drain the stream; in
// core mode (nothing is stored) they take them while the producer
// publishes at full rate, and what they could not take is dropped. The
// CPU per order is read from the consumers' start to the drain's end.
func measureConsumers(bins Bins, mode string, k, n int) (tp Throughput, err error) {
	err = runStep(func(t *step) {
		r := newSession(t, bins, mode)
		if mode == modeJetStream {
			r.publish(n, 0)
		}
		before := r.sample()
		ps := r.consumers(k)
		if mode == modeCore {
			r.publish(n, 0)
		}
		awaitDrain(t, ps, n, mode)
		after := r.sample(ps...)
		tp, _ = collect(t, ps)
		tp.Cost = costOver(before, after, roleConsumers, tp.Orders)
	})
	return tp, err
}

// measureLatency publishes n orders at rate per second to one consumer.
func measureLatency(bins Bins, mode string, rate float64, n int) (Latency, error) {
	l := Latency{Target: rate, Summary: Summarize(nil)}
	err := runStep(func(t *step) {
		r := newSession(t, bins, mode)
		ps := r.consumers(1)
		p, _ := r.publish(n, rate)
		tp, evs := drain(t, ps, n, mode)
		l.Warnings = tp.Warnings
		l.Warnings.add(p.Warnings())
		ages := Ages(evs, msgReceived)
		l.Achieved, l.Summary, l.Ages = Rate(Times(logEvents(p), msgPublished)), Summarize(ages), ages
		if len(ages) == 0 {
			t.Fatalf(`no age_ms in the consumer's "received order" lines`)
		}
	})
	return l, err
}

// measureIdle starts both services with nothing to do and reads their
// resident memory once they settled.
func measureIdle(bins Bins, mode string) (idle IdleRSS, err error) {
	err = runStep(func(t *step) {
		r := newSession(t, bins, mode)
		cs := r.consumers(1)
		p := r.producer("PUBLISH_INTERVAL=1h", "PUBLISH_RATE=0", "PUBLISH_COUNT=0")
		p.AwaitLogged(t, msgPublishing, 1)
		time.Sleep(idleSettle)
		idle = IdleRSS{Producer: p.RSSMB(t), Consumer: cs[0].RSSMB(t)}
	})
	return idle, err
}
