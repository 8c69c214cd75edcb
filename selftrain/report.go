package selftrain

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/train"
)

// WriteReport writes out/report.jsonl (one RoundReport per line) and
// out/report.png: dev F1 per round (micro and per label) and the weak-label
// counts per label and round.
func WriteReport(out string, rounds []RoundReport) error {
	if err := checkpoints.WriteFileAtomic(filepath.Join(out, ReportJSONL), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		for _, r := range rounds {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return bw.Flush()
	}); err != nil {
		return fmt.Errorf("selftrain report: %w", err)
	}
	return plotReport(filepath.Join(out, ReportPNG), rounds)
}

// reportPanel is one panel of report.png: a plot without a legend of
// its own and the series it shows, whose legend is drawn beside the plot
// (never over its lines).
type reportPanel struct {
	plot   *plot.Plot
	series []reportSeries
}

// reportSeries is one line of a panel.
type reportSeries struct {
	name  string
	color color.Color
	dash  []vg.Length
	glyph draw.GlyphDrawer
	xy    plotter.XYs
}

// seriesColors are distinct, colour-blind friendly line colours (Tableau
// 10, then a second, darker set); beyond them hues are spread evenly.
var seriesColors = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
	{0, 0, 0, 255}, {120, 60, 0, 255}, {0, 90, 50, 255}, {100, 0, 120, 255},
}

// seriesColor is label i's colour: distinct for every i.
func seriesColor(i int) color.Color {
	if i < len(seriesColors) {
		return seriesColors[i]
	}
	// Golden-angle hues, different lightness rows.
	h := math.Mod(float64(i)*137.508, 360)
	l := 0.35 + 0.15*float64(i%3)
	return hsl(h, 0.7, l)
}

func hsl(h, s, l float64) color.Color {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	u := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.RGBA{u(r), u(g), u(b), 255}
}

func newPanel(title, y string) *reportPanel {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "round"
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return &reportPanel{plot: p}
}

// add draws one series per name with data, name i in colour (and glyph,
// dash) i of the run's label order, so a label looks the same in every
// panel.
func (rp *reportPanel) add(names []string, index map[string]int, xy map[string]plotter.XYs) error {
	for _, n := range names {
		pts := xy[n]
		if len(pts) == 0 {
			continue
		}
		i := index[n]
		sr := reportSeries{name: n, color: seriesColor(i), glyph: glyphs[i%len(glyphs)], xy: pts}
		if i >= len(seriesColors) {
			sr.dash = []vg.Length{vg.Points(5), vg.Points(2)}
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		l.Color, l.Dashes, l.Width = sr.color, sr.dash, vg.Points(1.5)
		sc.Color, sc.Shape, sc.Radius = sr.color, sr.glyph, vg.Points(3)
		rp.plot.Add(l, sc)
		rp.series = append(rp.series, sr)
	}
	return nil
}

var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}}

// legend is the panel's legend, drawn beside the plot.
func (rp *reportPanel) legend() (plot.Legend, error) {
	lg := plot.NewLegend()
	lg.Top = true
	lg.Left = true
	for _, sr := range rp.series {
		l, sc, err := plotter.NewLinePoints(sr.xy)
		if err != nil {
			return lg, err
		}
		l.Color, l.Dashes, l.Width = sr.color, sr.dash, vg.Points(1.5)
		sc.Color, sc.Shape, sc.Radius = sr.color, sr.glyph, vg.Points(3)
		lg.Add(sr.name, l, sc)
	}
	return lg, nil
}

// reportPanels are report.png's panels: dev F1 per round (micro), dev F1
// per label (both on [0, 1]) and the confident weak labels per label and
// round.
func reportPanels(rounds []RoundReport) ([]*reportPanel, error) {
	micro := map[string]plotter.XYs{}
	perLabel := map[string]plotter.XYs{}
	counts := map[string]plotter.XYs{}
	labelSet := map[string]bool{}
	for _, r := range rounds {
		x := float64(r.Round)
		if r.DevF1 != nil {
			micro["micro"] = append(micro["micro"], plotter.XY{X: x, Y: *r.DevF1})
		}
		for l, v := range r.DevLabels {
			perLabel[l] = append(perLabel[l], plotter.XY{X: x, Y: v})
			labelSet[l] = true
		}
		if r.Labelling != nil {
			for l, n := range r.Labelling.Confident {
				counts[l] = append(counts[l], plotter.XY{X: x, Y: float64(n)})
				labelSet[l] = true
			}
		}
	}
	var labels []string
	for l := range labelSet {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	index := map[string]int{"micro": 0}
	for i, l := range labels {
		index[l] = i
	}
	f1 := newPanel("dev F1 per round", "F1")
	pl := newPanel("dev F1 per label", "F1")
	cp := newPanel("weak labels per label", "entities")
	for _, c := range []struct {
		p     *reportPanel
		names []string
		xy    map[string]plotter.XYs
	}{{f1, []string{"micro"}, micro}, {pl, labels, perLabel}, {cp, labels, counts}} {
		if err := c.p.add(c.names, index, c.xy); err != nil {
			return nil, err
		}
	}
	train.UnitAxis(&f1.plot.Y)
	train.UnitAxis(&pl.plot.Y)
	if cp.plot.Y.Min > 0 {
		cp.plot.Y.Min = 0
	}
	for _, p := range []*reportPanel{f1, pl, cp} {
		p.plot.X.Tick.Marker = roundTicks{}
	}
	return []*reportPanel{f1, pl, cp}, nil
}

// roundTicks labels whole rounds only.
type roundTicks struct{}

// Ticks implements plot.Ticker.
func (roundTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	step := math.Max(1, math.Ceil((hi-lo)/10))
	for v := math.Ceil(lo); v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return out
}

// legendW is the width of report.png's legend column.
const legendW = 1.8 * vg.Inch

// reportLayout places one plot per row in the left part of dc and each
// plot's legend in a column on the right, level with its plot: a legend
// never covers a line.
func reportLayout(plots [][]*plot.Plot, dc draw.Canvas) (plotCs, legendCs []draw.Canvas) {
	left := draw.Crop(dc, 0, -legendW, 0, 0)
	cs := plot.Align(plots, draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter}, left)
	for i := range plots {
		c := cs[i][0]
		plotCs = append(plotCs, c)
		legendCs = append(legendCs, draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: c.Max.X + 2*vg.Millimeter, Y: c.Min.Y}, Max: vg.Point{X: dc.Max.X, Y: c.Max.Y - 8*vg.Millimeter}}})
	}
	return plotCs, legendCs
}

func plotReport(path string, rounds []RoundReport) error {
	panels, err := reportPanels(rounds)
	if err != nil {
		return fmt.Errorf("selftrain report plot: %w", err)
	}
	img := vgimg.New(9*vg.Inch, 10*vg.Inch)
	dc := draw.New(img)
	plots := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		plots[i] = []*plot.Plot{p.plot}
	}
	cs, boxes := reportLayout(plots, dc)
	for i, p := range panels {
		p.plot.Draw(cs[i])
		lg, err := p.legend()
		if err != nil {
			return fmt.Errorf("selftrain report plot: %w", err)
		}
		lg.Draw(boxes[i])
	}
	if err := checkpoints.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("selftrain report plot: %w", err)
	}
	return nil
}
