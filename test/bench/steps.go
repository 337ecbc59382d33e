package main

import (
	"errors"
	"time"
)

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
func measureProducer(bins Bins, mode string, n int) (Throughput, error) {
	r, err := newSession(bins, mode)
	if err != nil {
		return Throughput{}, err
	}
	defer r.close()
	p, u, err := r.publish(n, 0)
	if err != nil {
		return Throughput{}, err
	}
	times := Times(p.Events(), msgPublished)
	tp := Throughput{
		Orders: len(times), Rate: Rate(times),
		CPUPer1000: PerThousand(u.CPU.Seconds(), len(times)), MaxRSSMB: u.MaxRSSMB,
	}
	tp.Warnings.add(p.Warnings())
	return tp, nil
}

// measureConsumers has k consumers take n orders. In JetStream mode the
// producer stores them first and the consumers then drain the stream; in
// core mode (nothing is stored) they take them while the producer
// publishes at full rate, and what they could not take is dropped.
func measureConsumers(bins Bins, mode string, k, n int) (Throughput, error) {
	r, err := newSession(bins, mode)
	if err != nil {
		return Throughput{}, err
	}
	defer r.close()
	if mode == modeJetStream {
		if _, _, err := r.publish(n, 0); err != nil {
			return Throughput{}, err
		}
	}
	ps, err := r.consumers(k)
	if err != nil {
		return Throughput{}, err
	}
	if mode == modeCore {
		if _, _, err := r.publish(n, 0); err != nil {
			return Throughput{}, err
		}
	}
	tp, _, err := drain(ps, n, mode)
	return tp, err
}

// measureLatency publishes n orders at rate per second to one consumer.
func measureLatency(bins Bins, mode string, rate float64, n int) (Latency, error) {
	l := Latency{Target: rate, Summary: Summarize(nil)}
	r, err := newSession(bins, mode)
	if err != nil {
		return l, err
	}
	defer r.close()
	ps, err := r.consumers(1)
	if err != nil {
		return l, err
	}
	p, _, err := r.publish(n, rate)
	if err != nil {
		return l, err
	}
	tp, evs, err := drain(ps, n, mode)
	l.Warnings = tp.Warnings
	l.Warnings.add(p.Warnings())
	ages := Ages(evs, msgReceived)
	l.Achieved, l.Summary, l.Ages = Rate(Times(p.Events(), msgPublished)), Summarize(ages), ages
	if err == nil && len(ages) == 0 {
		err = errors.New(`no age_ms in the consumer's "received order" lines`)
	}
	return l, err
}

// measureIdle starts both services with nothing to do and reads their
// resident memory once they settled.
func measureIdle(bins Bins, mode string) (IdleRSS, error) {
	r, err := newSession(bins, mode)
	if err != nil {
		return IdleRSS{}, err
	}
	defer r.close()
	cs, err := r.consumers(1)
	if err != nil {
		return IdleRSS{}, err
	}
	p, err := r.producer("producer", "PUBLISH_INTERVAL=1h", "PUBLISH_RATE=0", "PUBLISH_COUNT=0")
	if err != nil {
		return IdleRSS{}, err
	}
	if err := p.WaitLogged(msgPublishing, 1, startBound); err != nil {
		return IdleRSS{}, err
	}
	time.Sleep(idleSettle)
	var idle IdleRSS
	var errP, errC error
	idle.Producer, errP = p.RSSMB()
	idle.Consumer, errC = cs[0].RSSMB()
	return idle, errors.Join(errP, errC)
}
