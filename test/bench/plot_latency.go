package main

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// latencyPlot draws each fixed-rate run's CDF of ages: the age on a log
// axis (ticks 1, 2, 5 of each decade), the fraction on a nines axis, so
// that the p99 the target is about is as readable as the median; the 5 ms
// target is a red line, the 99% level a grey one.
func latencyPlot(r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("End-to-end age of orders, one consumer (target: p99 < %g ms)", targetP99Ms)
	p.X.Label.Text = "age (ms, log scale)"
	p.Y.Label.Text = "orders at most this old"
	p.Add(plotter.NewGrid())
	largestN, i := 0, 0
	for _, mr := range r.Modes {
		for _, l := range mr.Latency {
			if len(l.Ages) == 0 {
				continue
			}
			ln, err := line(CDF(l.Ages, cdfPoints), i, false)
			if err != nil {
				return nil, err
			}
			p.Add(ln)
			p.Legend.Add(fmt.Sprintf("%s %s/s", mr.Mode, rate(l.Target)), ln)
			largestN, i = max(largestN, len(l.Ages)), i+1
		}
	}
	if largestN == 0 {
		return p, nil // a log axis of nothing would panic
	}
	ages := decades(p.X.Min, math.Max(p.X.Max, targetP99Ms))
	addP99Target(p, ages)
	legendTopLeft(p)
	p.X.Min, p.X.Max = ages.lo, ages.hi
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	nines := ninesScale{floor: math.Min(1/float64(largestN), 0.1)}
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Scale, p.Y.Tick.Marker = nines, ninesTicks{nines}
	return p, nil
}

// addP99Target draws the target: the 5 ms line, and the 99% level an
// order's curve must cross to its left.
func addP99Target(p *plot.Plot, ages span) {
	target := targetMark(plotter.XY{X: targetP99Ms, Y: 0}, plotter.XY{X: targetP99Ms, Y: 1})
	p99 := targetMark(plotter.XY{X: ages.lo, Y: 0.99}, plotter.XY{X: ages.hi, Y: 0.99})
	p99.Color, p99.Width = plotter.DefaultGridLineStyle.Color, plotter.DefaultLineStyle.Width
	p.Add(target, p99)
	p.Legend.Add(fmt.Sprintf("target: %g ms at 99%%", targetP99Ms), target)
}

// span is an axis range.
type span struct{ lo, hi float64 }

// decades widens lo..hi to whole decades, so that every tick of 1 shows
// (0.1, 1 and 10 ms at least for any age under 10 ms).
func decades(lo, hi float64) span {
	return span{math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))}
}

// logTicks labels 1, 2 and 5 of every decade (only 1 over more than five
// decades, where the others would crowd) and marks the other digits.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	crowded := last-first > 5
	var ticks []plot.Tick
	for d := first; d <= last; d++ {
		for m := 1; m <= 9; m++ {
			v := digitValue(m, d)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (!crowded && (m == 2 || m == 5)) {
				t.Label = fmt.Sprint(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// digitValue is m × 10^d, divided rather than multiplied for d < 0 so
// that 0.3 prints as 0.3.
func digitValue(m, d int) float64 {
	if d < 0 {
		return float64(m) / math.Pow10(-d)
	}
	return float64(m) * math.Pow10(d)
}

// ninesScale spaces fractions by their nines: 90%, 99% and 99.9% sit one
// step apart, so the tail a p99 target is about is as tall as the bulk.
// A fraction within floor of 1 (the oldest order) counts as 1 - floor.
type ninesScale struct{ floor float64 }

func (s ninesScale) nines(f float64) float64 { return -math.Log10(math.Max(1-f, s.floor)) }

// Normalize implements plot.Normalizer.
func (s ninesScale) Normalize(lo, hi, x float64) float64 {
	return (s.nines(x) - s.nines(lo)) / (s.nines(hi) - s.nines(lo))
}

// ninesTicks labels 0%, 50%, 90%, 99%, … as far as the data reaches, and
// the oldest order as "max".
type ninesTicks struct{ scale ninesScale }

// Ticks implements plot.Ticker.
func (t ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := []plot.Tick{{Value: 0, Label: "0%"}, {Value: 0.5, Label: "50%"}}
	top := t.scale.nines(1)
	for n := 1; float64(n) <= top-0.3; n++ { // 0.3: a tick of its own, apart from "max"
		f := 1 - math.Pow10(-n)
		ticks = append(ticks, plot.Tick{Value: f, Label: fmt.Sprintf("%.*f%%", max(0, n-2), f*100)})
	}
	return append(ticks, plot.Tick{Value: 1, Label: "max"})
}
