package main

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// scalingPlot draws the full-rate throughput against the consumer count,
// one line per mode.
func scalingPlot(r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Full-rate throughput against consumer count"
	p.X.Label.Text = "consumers"
	p.Y.Label.Text = "orders/s"
	p.Add(plotter.NewGrid())
	var ks []int
	for k := 1; k <= r.Sizes.MaxConsumers; k++ {
		ks = append(ks, k)
	}
	for i, mr := range r.Modes {
		var xys plotter.XYs
		for k, tp := range mr.Scaling {
			if !missing(tp.Rate) {
				xys = append(xys, plotter.XY{X: float64(k + 1), Y: tp.Rate})
			}
		}
		if err := addCurve(p, mr.Mode, xys, i, false); err != nil {
			return nil, err
		}
	}
	p.X.Tick.Marker = countTicks(ks)
	p.Y.Min, p.Y.Tick.Marker = 0, thousandsTicks{}
	legendAbove(p)
	return p, nil
}

// workPlot draws the scaling-with-work runs: each mode's rate against the
// consumer count, beside its ideal, k × its one-consumer rate (dashed).
func workPlot(r Report) (*plot.Plot, error) {
	w := r.Sizes.Work
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Drain rate with %s of work per order, CONCURRENCY %d (dashed: k × one consumer)", w.WorkTime, w.Concurrency)
	p.X.Label.Text = "consumers"
	p.Y.Label.Text = "orders/s"
	p.Add(plotter.NewGrid())
	for i, mr := range r.Modes {
		one := oneConsumer(mr.Work)
		var got, ideal plotter.XYs
		for _, run := range mr.Work {
			if !missing(run.Rate) {
				got = append(got, plotter.XY{X: float64(run.Consumers), Y: run.Rate})
			}
			if !missing(one.Rate) {
				ideal = append(ideal, plotter.XY{X: float64(run.Consumers), Y: float64(run.Consumers) * one.Rate})
			}
		}
		if err := addCurve(p, mr.Mode, got, i, false); err != nil {
			return nil, err
		}
		if err := addCurve(p, mr.Mode+": k × one consumer", ideal, i, true); err != nil {
			return nil, err
		}
	}
	p.X.Tick.Marker = countTicks(w.Consumers)
	p.Y.Min, p.Y.Tick.Marker = 0, thousandsTicks{}
	legendAbove(p)
	return p, nil
}

// addCurve adds a line of colour i with its points and a legend entry;
// nothing for no points.
func addCurve(p *plot.Plot, name string, xys plotter.XYs, i int, dash bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := line(xys, i, dash)
	if err != nil {
		return err
	}
	p.Add(l)
	if !dash {
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		pts.Color = l.Color
		p.Add(pts)
		p.Legend.Add(name, l, pts)
		return nil
	}
	p.Legend.Add(name, l)
	return nil
}
