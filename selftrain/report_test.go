package selftrain

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// report.png: F1 panels on [0, 1]; every label its own colour, the same
// in every panel; legends in a column beside the plots, never over them.
func TestReportPlot(t *testing.T) {
	var labels []string
	for i := 0; i < 17; i++ {
		labels = append(labels, fmt.Sprintf("label%02d", i))
	}
	var rounds []RoundReport
	for k := 0; k <= 3; k++ {
		f := 0.5 + 0.1*float64(k)
		r := RoundReport{Round: k, DevF1: &f, DevLabels: map[string]float64{}}
		if k > 0 {
			r.Labelling = &LabelStats{Confident: map[string]int{}}
		}
		for i, l := range labels {
			r.DevLabels[l] = float64(i) / 20
			if r.Labelling != nil {
				r.Labelling.Confident[l] = 10*i + k
			}
		}
		rounds = append(rounds, r)
	}
	panels, err := reportPanels(rounds)
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) != 3 || len(panels[0].series) != 1 || len(panels[1].series) != len(labels) || len(panels[2].series) != len(labels) {
		t.Fatalf("%d panels", len(panels))
	}
	for i, p := range panels[:2] {
		if p.plot.Y.Min != 0 || p.plot.Y.Max != 1 {
			t.Errorf("panel %d: F1 axis [%v, %v], want [0, 1]", i, p.plot.Y.Min, p.plot.Y.Max)
		}
	}
	seen := map[color.RGBA]string{}
	for j, sr := range panels[1].series {
		c := color.RGBAModel.Convert(sr.color).(color.RGBA)
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s share the colour %v", other, sr.name, c)
		}
		seen[c] = sr.name
		if sr.name != labels[j] || panels[2].series[j].name != sr.name || panels[2].series[j].color != sr.color {
			t.Errorf("series %d: %s / %s, colours %v / %v: a label must look the same in both panels", j, sr.name, panels[2].series[j].name, sr.color, panels[2].series[j].color)
		}
	}
	plots := [][]*plot.Plot{{panels[0].plot}, {panels[1].plot}, {panels[2].plot}}
	dc := draw.New(vgimg.New(9*vg.Inch, 10*vg.Inch))
	pcs, lcs := reportLayout(plots, dc)
	for i := range pcs {
		if lcs[i].Min.X <= pcs[i].Max.X || lcs[i].Max.X > dc.Max.X || lcs[i].Max.Y > pcs[i].Max.Y || lcs[i].Min.Y < pcs[i].Min.Y {
			t.Errorf("panel %d: legend box %v overlaps the plot %v or leaves the image", i, lcs[i].Rectangle, pcs[i].Rectangle)
		}
	}
	dir := t.TempDir()
	if err := plotReport(filepath.Join(dir, ReportPNG), rounds); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, ReportPNG)); err != nil || st.Size() < 1000 {
		t.Fatalf("report.png: %v", err)
	}
}
