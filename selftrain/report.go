package selftrain

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gliner-go/gliner/checkpoints"
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

func newPlot(title, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "round"
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

func addSeries(p *plot.Plot, names []string, xy map[string]plotter.XYs) error {
	var args []any
	for _, n := range names {
		if len(xy[n]) > 0 {
			args = append(args, n, xy[n])
		}
	}
	if len(args) == 0 {
		return nil
	}
	return plotutil.AddLinePoints(p, args...)
}

func plotReport(path string, rounds []RoundReport) error {
	f1 := newPlot("dev F1 per round", "F1")
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
	if err := addSeries(f1, []string{"micro"}, micro); err != nil {
		return fmt.Errorf("selftrain report plot: %w", err)
	}
	pl := newPlot("dev F1 per label", "F1")
	if err := addSeries(pl, labels, perLabel); err != nil {
		return fmt.Errorf("selftrain report plot: %w", err)
	}
	cp := newPlot("weak labels per label", "entities")
	if err := addSeries(cp, labels, counts); err != nil {
		return fmt.Errorf("selftrain report plot: %w", err)
	}
	img := vgimg.New(8*vg.Inch, 10*vg.Inch)
	dc := draw.New(img)
	plots := [][]*plot.Plot{{f1}, {pl}, {cp}}
	cs := plot.Align(plots, draw.Tiles{Rows: 3, Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter}, dc)
	for i, row := range plots {
		row[0].Draw(cs[i][0])
	}
	if err := checkpoints.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("selftrain report plot: %w", err)
	}
	return nil
}
