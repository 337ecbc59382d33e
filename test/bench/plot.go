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

// cdfPoints bounds the points per CDF line: enough for a smooth curve
// and, on the nines axis, a tail resolved to a few orders in 10,000.
const cdfPoints = 2000

// minPlotMs stands in for 0 ms on the latency plot's log axis.
const minPlotMs = 0.01

// Colours the plots share: targets are red, everything else takes
// plotutil's palette.
var (
	targetColor = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	barColor    = color.RGBA{R: 60, G: 110, B: 180, A: 255}
	dashed      = []vg.Length{vg.Points(6), vg.Points(4)}
)

// plotSpec is one PNG of the report: its file, its size and how it is
// drawn from the report.
type plotSpec struct {
	file  string
	w, h  vg.Length
	build func(Report) (*plot.Plot, error)
}

// plotSpecs are the report's plots.
func plotSpecs() []plotSpec {
	return []plotSpec{
		{plotRatios, 8 * vg.Inch, 4.5 * vg.Inch, ratiosPlot},
		{plotLatency, 7 * vg.Inch, 4.5 * vg.Inch, latencyPlot},
		{plotScaling, 7 * vg.Inch, 4 * vg.Inch, scalingPlot},
		{plotWork, 7 * vg.Inch, 4.5 * vg.Inch, workPlot},
	}
}

// writePlots writes the report's PNGs into dir.
func writePlots(r Report, dir string) error {
	for _, s := range plotSpecs() {
		p, err := s.build(r)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		if err := p.Save(s.w, s.h, filepath.Join(dir, s.file)); err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
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

// line is a solid line of colour i of the palette, or dashed.
func line(xys plotter.XYs, i int, dash bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = plotutil.Color(i), vg.Points(1.5)
	if dash {
		l.Dashes = dashed
	}
	return l, nil
}

// targetMark is a red dashed segment from a to b.
func targetMark(a, b plotter.XY) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{a, b}) // two finite points: no error
	l.Color, l.Width, l.Dashes = targetColor, vg.Points(2), dashed
	return l
}

// gridOnly is a grid of the lines across one axis: vertical (across x) or
// horizontal.
func gridOnly(vertical bool) *plotter.Grid {
	g := plotter.NewGrid()
	if vertical {
		g.Horizontal.Color = nil
	} else {
		g.Vertical.Color = nil
	}
	return g
}

// countTicks marks the consumer counts ks on an axis.
func countTicks(ks []int) plot.Ticker {
	var ticks []plot.Tick
	for _, k := range ks {
		ticks = append(ticks, plot.Tick{Value: float64(k), Label: fmt.Sprint(k)})
	}
	return plot.ConstantTicks(ticks)
}

// thousandsTicks are gonum's default ticks labelled 12,000 rather than
// 12000.
type thousandsTicks struct{}

// Ticks implements plot.Ticker.
func (thousandsTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" && t.Value == math.Trunc(t.Value) {
			ticks[i].Label = thousands(int64(t.Value))
		}
	}
	return ticks
}

// legendTopLeft puts the legend inside the plot's top left corner.
func legendTopLeft(p *plot.Plot) {
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(8)
}

// legendAbove puts the legend top left, above the data: the y axis runs a
// third higher than the largest value, so no line passes under it.
func legendAbove(p *plot.Plot) {
	legendTopLeft(p)
	p.Y.Max *= 4.0 / 3
}
