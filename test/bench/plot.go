package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// cdfPoints bounds the points per CDF line: enough for a smooth curve.
const cdfPoints = 400

// minPlotMs stands in for 0 ms on the latency plot's log axis.
const minPlotMs = 0.01

// writePlots writes the three PNGs of the report into dir.
func writePlots(r Report, dir string) error {
	for name, build := range map[string]func(Report) (*plot.Plot, error){
		plotLatency: latencyPlot,
		plotScaling: scalingPlot,
		plotRatios:  ratiosPlot,
	} {
		p, err := build(r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := p.Save(7*vg.Inch, 4*vg.Inch, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// CDF returns at most n points (age, fraction of orders at most that old)
// of the empirical distribution of ms, on a log axis's domain.
func CDF(ms []float64, n int) plotter.XYs {
	s := slices.Clone(ms)
	slices.Sort(s)
	step := max(1, len(s)/n)
	var xys plotter.XYs
	for i := 0; i < len(s); i += step {
		xys = append(xys, plotter.XY{X: math.Max(s[i], minPlotMs), Y: float64(i+1) / float64(len(s))})
	}
	if len(s) > 0 && xys[len(xys)-1].Y < 1 {
		xys = append(xys, plotter.XY{X: math.Max(s[len(s)-1], minPlotMs), Y: 1})
	}
	return xys
}

func latencyPlot(r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "End-to-end age of orders, one consumer"
	p.X.Label.Text = "age (ms, log scale)"
	p.Y.Label.Text = "fraction of orders"
	var lines []any
	for _, mr := range r.Modes {
		for _, l := range mr.Latency {
			if len(l.Ages) > 0 {
				lines = append(lines, fmt.Sprintf("%s %s/s", mr.Mode, rate(l.Target)), CDF(l.Ages, cdfPoints))
			}
		}
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Add(plotter.NewGrid())
	if len(lines) == 0 {
		return p, nil // a log axis of nothing would panic
	}
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	return p, plotutil.AddLines(p, lines...)
}

func scalingPlot(r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Throughput against consumer count"
	p.X.Label.Text = "consumers"
	p.Y.Label.Text = "orders/s"
	p.Y.Min = 0
	var lines []any
	for _, mr := range r.Modes {
		var xys plotter.XYs
		for k, tp := range mr.Scaling {
			if !missing(tp.Rate) {
				xys = append(xys, plotter.XY{X: float64(k + 1), Y: tp.Rate})
			}
		}
		if len(xys) > 0 {
			lines = append(lines, mr.Mode, xys)
		}
	}
	var ticks []plot.Tick
	for k := 1; k <= r.Sizes.MaxConsumers; k++ {
		ticks = append(ticks, plot.Tick{Value: float64(k), Label: fmt.Sprint(k)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	if len(lines) == 0 {
		return p, nil
	}
	return p, plotutil.AddLinePoints(p, lines...)
}

func ratiosPlot(r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Ours as a share of the natscli ceiling (dashed: targets)"
	p.Y.Label.Text = "ratio"
	rows := r.Ratios()
	vals := make(plotter.Values, len(rows))
	names := make([]string, len(rows))
	for i, row := range rows {
		if !math.IsNaN(row.Ratio) {
			vals[i] = row.Ratio
		}
		names[i] = fmt.Sprintf("%s\n%s\n/ %s", shortPath(row.Path), row.Mode, row.Ceiling)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(30))
	if err != nil {
		return nil, err
	}
	bars.Color = color.RGBA{R: 60, G: 110, B: 180, A: 255}
	p.Add(plotter.NewGrid(), bars)
	for i, row := range rows {
		if row.Target > 0 {
			p.Add(targetLine(row.Target, i))
		}
	}
	p.NominalX(names...)
	p.Y.Min = 0
	return p, nil
}

func shortPath(path string) string {
	if path == pathConsumer {
		return "consumer"
	}
	return path
}

// targetLine is a dashed red line at ratio y over the i-th bar.
func targetLine(y float64, i int) *plotter.Line {
	x := float64(i)
	l, _ := plotter.NewLine(plotter.XYs{{X: x - 0.45, Y: y}, {X: x + 0.45, Y: y}}) // two finite points: no error
	l.Color = color.RGBA{R: 200, G: 40, B: 40, A: 255}
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	return l
}
