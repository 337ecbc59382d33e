package main

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// ratioAxisMax caps the ratio axis: 40% and 100% both stay readable, and a
// ratio beyond it (ours against `js pub sync`, about 15×) is drawn to the
// edge and labelled with its value instead of squashing every other bar.
const ratioAxisMax = 1.5

// ratiosPlot draws each comparison as a horizontal bar, the table's first
// row on top, with its target as a red mark.
func ratiosPlot(r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Ours as a share of each nats bench ceiling (red: target; grey: the ceiling)"
	p.X.Label.Text = "ours / ceiling"
	rows := slices.Clone(r.Ratios())
	slices.Reverse(rows) // bar 0 is drawn at the bottom
	vals := make(plotter.Values, len(rows))
	names := make([]string, len(rows))
	for i, row := range rows {
		if !math.IsNaN(row.Ratio) {
			vals[i] = math.Min(row.Ratio, ratioAxisMax)
		}
		names[i] = fmt.Sprintf("%s, %s / %s", shortPath(row.Path), row.Mode, row.Ceiling)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(16))
	if err != nil {
		return nil, err
	}
	bars.Horizontal, bars.Color, bars.LineStyle.Width = true, barColor, 0
	ceiling := targetMark(plotter.XY{X: 1, Y: -0.5}, plotter.XY{X: 1, Y: float64(len(rows)) - 0.5})
	ceiling.Color, ceiling.Dashes = color.Gray{Y: 110}, nil
	p.Add(gridOnly(true), bars, ceiling)
	for i, row := range rows {
		if row.Target > 0 {
			p.Add(targetMark(plotter.XY{X: row.Target, Y: float64(i) - 0.4}, plotter.XY{X: row.Target, Y: float64(i) + 0.4}))
		}
	}
	if err := addRatioLabels(p, rows); err != nil {
		return nil, err
	}
	p.NominalY(names...)
	p.X.Min, p.X.Max = 0, ratioAxisMax
	p.X.Tick.Marker = percentTicks{step: 0.25}
	return p, nil
}

// addRatioLabels writes each bar's value at its end: beside it (past its
// target mark, which would cross it), or inside it for a bar clipped at
// the axis's end, and "n/a" where nothing was measured.
func addRatioLabels(p *plot.Plot, rows []RatioRow) error {
	var beside, inside plotter.XYLabels
	for i, row := range rows {
		switch {
		case math.IsNaN(row.Ratio):
			beside.XYs = append(beside.XYs, plotter.XY{X: 0, Y: float64(i)})
			beside.Labels = append(beside.Labels, "n/a")
		case row.Ratio > ratioAxisMax:
			inside.XYs = append(inside.XYs, plotter.XY{X: ratioAxisMax, Y: float64(i)})
			inside.Labels = append(inside.Labels, percent(row.Ratio)+" (off the axis) »")
		default:
			beside.XYs = append(beside.XYs, plotter.XY{X: math.Max(row.Ratio, row.Target), Y: float64(i)})
			beside.Labels = append(beside.Labels, percent(row.Ratio))
		}
	}
	for _, l := range []struct {
		xys   plotter.XYLabels
		dx    vg.Length
		align text.XAlignment
		color color.Color
	}{{beside, 4, text.XLeft, color.Black}, {inside, -4, text.XRight, color.White}} {
		if len(l.xys.Labels) == 0 {
			continue
		}
		labels, err := plotter.NewLabels(l.xys)
		if err != nil {
			return err
		}
		labels.Offset = vg.Point{X: l.dx}
		for i := range labels.TextStyle {
			labels.TextStyle[i].XAlign, labels.TextStyle[i].YAlign, labels.TextStyle[i].Color = l.align, text.YCenter, l.color
		}
		p.Add(labels)
	}
	return nil
}

// percentTicks labels an axis of shares in percent, every step.
type percentTicks struct{ step float64 }

// Ticks implements plot.Ticker.
func (t percentTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for i := math.Ceil(lo / t.step); i*t.step <= hi+1e-9; i++ {
		ticks = append(ticks, plot.Tick{Value: i * t.step, Label: fmt.Sprintf("%.0f%%", i*t.step*100)})
	}
	return ticks
}

func shortPath(path string) string {
	if path == pathConsumer {
		return "consumer"
	}
	return path
}
