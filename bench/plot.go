package bench

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot geometry and the lowest latency drawn: the y axis is logarithmic, so
// a zero latency is drawn at latencyFloorMillis.
const (
	plotWidth          = 8 * vg.Inch
	plotHeight         = 5 * vg.Inch
	plotLineWidth      = 1.5
	latencyFloorMillis = 0.001
	// plotMarginsEstimate is roughly what the title, axis labels and tick
	// labels take from each dimension of the data area.
	plotMarginsEstimate = vg.Length(60)
	legendGap           = vg.Length(6)
	yDecadesMax         = 12
)

// errNoCurves is returned when a report has no latency curve to draw.
var errNoCurves = errors.New("bench: no latency curves to plot")

// curve is one line of a latency plot.
type curve struct {
	label  string
	points []Point
}

// WritePlot draws the latency-percentile curves of every scenario, target
// and mode of r.Runs into one plot at path: SVG, or PNG when path ends in
// .png. Each line is the median round's curve (see medianRun); x is the
// percentile on a "nines" scale, y the latency in ms on a log scale.
func WritePlot(path string, r Report) error {
	curves := reportCurves(r, nil)
	if len(curves) == 0 {
		return errNoCurves
	}
	return savePlot(path, "latency by percentile (median round)", curves)
}

// WritePlots writes one SVG latency-percentile plot per section of r.Runs
// into dir, named latency-<scenario>.svg, or latency-<scenario>-<n>c.svg
// when the scenario ran at several connection counts; one line per target
// and mode (the median round's curve). It returns the paths written in
// section order. Sections without curves get no file.
func WritePlots(dir string, r Report) ([]string, error) {
	_, order := groupRuns(r.Runs)
	var secs []section
	perScenario := make(map[string]int)
	for _, g := range order {
		if !slices.Contains(secs, g.section) {
			secs = append(secs, g.section)
			perScenario[g.scenario]++
		}
	}
	var paths []string
	for _, sec := range secs {
		curves := reportCurves(r, &sec)
		if len(curves) == 0 {
			continue
		}
		name := sec.scenario
		if perScenario[sec.scenario] > 1 {
			name = fmt.Sprintf("%s-%dc", sec.scenario, sec.connections)
		}
		path := filepath.Join(dir, "latency-"+name+".svg")
		title := sec.title() + ": latency by percentile (median round)"
		if err := savePlot(path, title, curves); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// reportCurves returns the median round's curve of each section, target
// and mode of r.Runs, in summary order: of one section (labelled "target
// mode") or of all when sec is nil (labelled "scenario target mode", with
// the connections when the scenario ran at several counts).
func reportCurves(r Report, sec *section) []curve {
	groups, order := groupRuns(r.Runs)
	counts := make(map[string]map[int]bool)
	for _, g := range order {
		if counts[g.scenario] == nil {
			counts[g.scenario] = make(map[int]bool)
		}
		counts[g.scenario][g.connections] = true
	}
	var curves []curve
	for _, g := range order {
		if sec != nil && g.section != *sec {
			continue
		}
		run := medianRun(groups[g])
		if len(run.Curve) == 0 {
			continue
		}
		label := g.target + " " + g.mode
		if sec == nil {
			prefix := g.scenario
			if len(counts[g.scenario]) > 1 {
				prefix = fmt.Sprintf("%s@%d", g.scenario, g.connections)
			}
			label = prefix + " " + label
		}
		curves = append(curves, curve{label: label, points: run.Curve})
	}
	return curves
}

// medianRun is the run of median throughput; of an even count, the lower of
// the two middle ones, so the curve drawn was measured, not interpolated.
func medianRun(runs []Run) Run {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b Run) int {
		switch {
		case a.Throughput < b.Throughput:
			return -1
		case a.Throughput > b.Throughput:
			return 1
		}
		return 0
	})
	return sorted[(len(sorted)-1)/2]
}

// savePlot draws curves against the percentile on a "nines" scale and writes
// the plot to path, atomically.
func savePlot(path, title string, curves []curve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	var lines []plotter.XYs
	for i, c := range curves {
		xys := ninesXYs(c.points)
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("bench: plot %s: %w", c.label, err)
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / 7) // a new dash pattern when colours repeat
		line.Width = plotLineWidth
		p.Add(line)
		p.Legend.Add(c.label, line)
		lines = append(lines, xys)
	}
	if len(lines) == 0 {
		return errNoCurves
	}
	setAxes(p, lines)

	format := "svg"
	if strings.EqualFold(filepath.Ext(path), ".png") {
		format = "png"
	}
	wt, err := p.WriterTo(plotWidth, plotHeight, format)
	if err != nil {
		return fmt.Errorf("bench: plot %s: %w", path, err)
	}
	return writeFileAtomic(path, wt)
}

// setAxes fits both axes to whole decades around lines (at least one point).
func setAxes(p *plot.Plot, lines []plotter.XYs) {
	xMax := 1.0
	for _, xys := range lines {
		for _, xy := range xys {
			xMax = max(xMax, xy.X)
		}
	}
	// 1/(1-0.999) is a hair above 1000: allow for rounding.
	nines := max(2, int(math.Ceil(math.Log10(xMax)-1e-9)))
	p.X.Min, p.X.Max = 1, math.Pow10(nines)
	p.X.Tick.Marker = decadeTicks(0, nines, ninesLabel)
	lo, hi := yDecades(p, lines, nines)
	p.Y.Min, p.Y.Max = math.Pow10(lo), math.Pow10(hi)
	p.Y.Tick.Marker = decadeTicks(lo, hi, func(k int) string {
		return strconv.FormatFloat(math.Pow10(k), 'f', -1, 64)
	})
}

// yDecades returns the y axis's range in decades: from below the lowest
// latency to above the highest, raised until the curves pass under the
// legend in the top left corner. The plot's margins are estimated.
func yDecades(p *plot.Plot, lines []plotter.XYs, nines int) (lo, hi int) {
	legend := p.Legend.Rectangle(draw.Canvas{})
	widthFrac := float64((legend.Max.X - legend.Min.X) / (plotWidth - plotMarginsEstimate))
	heightFrac := float64((legend.Max.Y - legend.Min.Y + legendGap) / (plotHeight - plotMarginsEstimate))
	xUnder := math.Pow(10, widthFrac*float64(nines)) // curves left of this pass under the legend
	yMin, yMax, yUnder := math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, xys := range lines {
		for i, xy := range xys {
			yMin, yMax = min(yMin, xy.Y), max(yMax, xy.Y)
			if xy.X <= xUnder || (i > 0 && xys[i-1].X <= xUnder) {
				yUnder = max(yUnder, xy.Y) // the segment crossing xUnder counts whole
			}
		}
	}
	lo = int(math.Floor(math.Log10(yMin)))
	hi = max(lo+1, int(math.Ceil(math.Log10(yMax))))
	for hi-lo < yDecadesMax && math.Log10(yUnder) > float64(lo)+float64(hi-lo)*(1-heightFrac) {
		hi++
	}
	return lo, hi
}

// decadeTicks marks 10^k for k from lo to hi, labelled by label(k), with
// minor ticks at 2..9 × 10^k in between.
func decadeTicks(lo, hi int, label func(k int) string) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for k := lo; k <= hi; k++ {
		decade := math.Pow10(k)
		ticks = append(ticks, plot.Tick{Value: decade, Label: label(k)})
		if k == hi {
			break
		}
		for m := 2; m < 10; m++ {
			ticks = append(ticks, plot.Tick{Value: float64(m) * decade})
		}
	}
	return ticks
}

// ninesXYs places each point at x = 1/(1-p): 1 for 0 %, 10 for 90 %, 100 for
// 99 %, and so on. The 100th percentile (the maximum) has no place on that
// axis and is left out; latencies are raised to latencyFloorMillis.
func ninesXYs(points []Point) plotter.XYs {
	xys := make(plotter.XYs, 0, len(points))
	for _, pt := range points {
		if pt.Percentile < 0 || pt.Percentile >= 100 || math.IsNaN(pt.Millis) {
			continue
		}
		x := 1 / (1 - pt.Percentile/100)
		xys = append(xys, plotter.XY{X: x, Y: max(pt.Millis, latencyFloorMillis)})
	}
	return xys
}

// ninesLabel is the percentile at 10^k on the nines scale, written exactly:
// "0%", "90%", "99%", "99.9%", ….
func ninesLabel(k int) string {
	switch k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}
