package train_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/gliner-go/gliner/train"
)

// The loss panel is on a log scale (a loss of 0 cannot be drawn there and
// is counted in the title); the F1 panel's axis is [0, 1] with ticks every
// 0.1, labelled every 0.2; the hook renders both into a PNG.
func TestTrainPlotsAxes(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	recs := []train.MetricsRecord{
		{Type: "step", Step: 1, Loss: f(350)}, {Type: "step", Step: 2, Loss: f(40)}, {Type: "step", Step: 3, Loss: f(0)},
		{Type: "step", Step: 4, Loss: f(2.5)}, {Type: "eval", Step: 4, F1: f(0.42)},
	}
	loss, f1, err := train.TrainPlots(recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := loss.Y.Scale.(plot.LogScale); !ok {
		t.Errorf("loss scale %T, want plot.LogScale", loss.Y.Scale)
	}
	if _, ok := loss.Y.Tick.Marker.(plot.LogTicks); !ok {
		t.Errorf("loss ticks %T, want plot.LogTicks", loss.Y.Tick.Marker)
	}
	if want := "training loss (log scale; 1 steps with loss ≤ 0 not drawn)"; loss.Title.Text != want {
		t.Errorf("loss title %q, want %q", loss.Title.Text, want)
	}
	if loss.Y.Min != 2.5 || loss.Y.Max != 350 {
		t.Errorf("loss axis [%v, %v], want [2.5, 350]", loss.Y.Min, loss.Y.Max)
	}
	if f1.Y.Min != 0 || f1.Y.Max != 1 {
		t.Errorf("F1 axis [%v, %v], want [0, 1]", f1.Y.Min, f1.Y.Max)
	}
	var labels []string
	for _, tk := range f1.Y.Tick.Marker.Ticks(0, 1) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, ","); got != "0.0,,0.2,,0.4,,0.6,,0.8,,1.0" {
		t.Errorf("F1 tick labels %q", got)
	}
	// Without a positive loss the scale stays linear.
	lin, _, err := train.TrainPlots([]train.MetricsRecord{{Type: "step", Step: 1, Loss: f(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lin.Y.Scale.(plot.LogScale); ok {
		t.Error("log scale with no positive loss")
	}
	// The hook renders them.
	dir := t.TempDir()
	metrics := filepath.Join(dir, "metrics.jsonl")
	var b strings.Builder
	for _, r := range recs {
		line, _ := json.Marshal(r)
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(metrics, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "train.png")
	if err := (&train.PlotHook{MetricsPath: metrics, Path: png}).Plot(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Fatalf("train.png: %v", err)
	}
}
