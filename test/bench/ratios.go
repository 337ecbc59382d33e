package main

// Paths of ours the ratios table compares.
const (
	pathProducer = "producer"
	pathConsumer = "consumer, 1 replica"
)

// RatioRow is one line of the ratios table: one of our paths against one
// ceiling, and the target for that ratio when it has one.
type RatioRow struct {
	Path, Mode, Ceiling string
	Ours, CeilingRate   float64
	Ratio               float64 // NaN when either rate is missing
	Target              float64 // 0: no target
}

// ratioSpec names a row; its figures come from the report.
type ratioSpec struct {
	path, mode, ceiling string
	target              float64
}

// ratioSpecs are the comparisons of issue 11: the producer against what
// one natscli publisher reaches, the consumer (which records every order
// with a KV create) against a KV writer and a JetStream consumer. Against
// the like-for-like ceiling, --dedup, the producer must keep 90% (issue 20).
func ratioSpecs() []ratioSpec {
	return []ratioSpec{
		{pathProducer, modeJetStream, ceilPubAsync, 0.8},
		{pathProducer, modeJetStream, ceilPubAsyncDedup, 0.9},
		{pathProducer, modeJetStream, ceilPubSync, 0},
		{pathProducer, modeCore, ceilCorePub, 0},
		{pathConsumer, modeJetStream, ceilPubAsync, 0.4},
		{pathConsumer, modeJetStream, ceilKVPut, 0},
		{pathConsumer, modeJetStream, ceilConsume, 0},
		{pathConsumer, modeCore, ceilKVPut, 0},
	}
}

// Ratios computes the ratios table from the measured rates.
func (r Report) Ratios() []RatioRow {
	var rows []RatioRow
	for _, s := range ratioSpecs() {
		ours := r.pathRate(s.path, s.mode)
		ceil := r.Ceilings[s.ceiling]
		rows = append(rows, RatioRow{
			Path: s.path, Mode: s.mode, Ceiling: s.ceiling,
			Ours: ours, CeilingRate: ceil, Ratio: Ratio(ours, ceil), Target: s.target,
		})
	}
	return rows
}

// pathRate is the measured rate of path in mode, 0 when not measured.
func (r Report) pathRate(path, mode string) float64 {
	m, ok := r.mode(mode)
	if !ok {
		return 0
	}
	switch path {
	case pathProducer:
		return m.Producer.Rate
	case pathConsumer:
		if len(m.Scaling) > 0 {
			return m.Scaling[0].Rate
		}
	}
	return 0
}

func (r Report) mode(mode string) (ModeResult, bool) {
	for _, m := range r.Modes {
		if m.Mode == mode {
			return m, true
		}
	}
	return ModeResult{}, false
}
