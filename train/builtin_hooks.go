package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gliner-go/gliner/checkpoints"
)

// LogHook logs every LogEvery-th step (0 or 1: every step), every
// evaluation, checkpoint and the end through zap with structured fields.
type LogHook struct {
	NopHook
	Logger   *zap.Logger
	LogEvery int
}

// OnStart implements Hook.
func (h *LogHook) OnStart(_ context.Context, i *StartInfo) error {
	h.Logger.Info("train start", zap.Int("step", i.Step), zap.Int("max_steps", i.MaxSteps),
		zap.Bool("resumed", i.Resumed), zap.Strings("groups", i.Groups), zap.Int("params", i.NumParams))
	return nil
}

// OnStep implements Hook.
func (h *LogHook) OnStep(_ context.Context, i *StepInfo) error {
	if h.LogEvery > 1 && i.Step%h.LogEvery != 0 && i.Step != i.MaxSteps {
		return nil
	}
	fields := []zap.Field{zap.Int("step", i.Step), zap.Int("epoch", i.Epoch), zap.Float64("loss", i.Loss),
		zap.Float64("grad_norm", i.GradNorm), zap.Duration("elapsed", i.Elapsed)}
	for _, g := range i.LR {
		fields = append(fields, zap.Float64("lr_"+g.Group, g.LR))
	}
	h.Logger.Info("train step", fields...)
	return nil
}

// OnEval implements Hook.
func (h *LogHook) OnEval(_ context.Context, i *EvalInfo) error {
	h.Logger.Info("eval", zap.Int("step", i.Step), zap.Float64("precision", i.Micro.Precision),
		zap.Float64("recall", i.Micro.Recall), zap.Float64("f1", i.Micro.F1), zap.Bool("best", i.IsBest),
		zap.Float64("best_f1", i.BestF1), zap.Int("best_step", i.BestStep), zap.Int("evals_since_best", i.EvalsSinceBest))
	return nil
}

// OnCheckpoint implements Hook.
func (h *LogHook) OnCheckpoint(_ context.Context, i *CheckpointInfo) error {
	h.Logger.Info("checkpoint", zap.Int("step", i.Step), zap.String("dir", i.Dir))
	return nil
}

// OnEnd implements Hook.
func (h *LogHook) OnEnd(_ context.Context, i *EndInfo) error {
	h.Logger.Info("train end", zap.Int("step", i.Step), zap.String("reason", i.Reason), zap.Float64("loss", i.Loss),
		zap.Float64("best_f1", i.BestF1), zap.Int("best_step", i.BestStep), zap.Duration("elapsed", i.Elapsed))
	return nil
}

// MetricsRecord is one line of the metrics JSONL file: Type "step" or
// "eval".
type MetricsRecord struct {
	Type      string             `json:"type"`
	Step      int                `json:"step"`
	Epoch     int                `json:"epoch"`
	Loss      *float64           `json:"loss,omitempty"`
	GradNorm  *float64           `json:"grad_norm,omitempty"`
	LR        map[string]float64 `json:"lr,omitempty"`
	Precision *float64           `json:"precision,omitempty"`
	Recall    *float64           `json:"recall,omitempty"`
	F1        *float64           `json:"f1,omitempty"`
	PerLabel  map[string]Scores  `json:"per_label,omitempty"`
	BestF1    *float64           `json:"best_f1,omitempty"`
	ElapsedS  float64            `json:"elapsed_s"`
}

// Scores are one label's evaluation counts and ratios.
type Scores struct {
	TP        int     `json:"tp"`
	Predicted int     `json:"predicted"`
	Gold      int     `json:"gold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// JSONLHook appends one MetricsRecord per step and per evaluation to Path.
// At the start of a run it keeps only the records up to the start step, so
// a resumed run continues the file without the steps it redoes.
type JSONLHook struct {
	NopHook
	Path string
	f    *os.File
}

// OnStart implements Hook.
func (h *JSONLHook) OnStart(_ context.Context, i *StartInfo) error {
	recs, err := ReadMetrics(h.Path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	err = checkpoints.WriteFileAtomic(h.Path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if r.Step <= i.Step && i.Step > 0 {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("metrics %s: %w", h.Path, err)
	}
	h.f, err = os.OpenFile(h.Path, os.O_WRONLY|os.O_APPEND, 0o644)
	return err
}

func (h *JSONLHook) write(r MetricsRecord) error {
	if h.f == nil {
		return fmt.Errorf("metrics %s: not started", h.Path)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("metrics %s: step %d: %w", h.Path, r.Step, err)
	}
	if _, err := h.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("metrics %s: %w", h.Path, err)
	}
	return nil
}

// finite returns a pointer to x, or nil for NaN/Inf (JSON has neither).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// OnStep implements Hook.
func (h *JSONLHook) OnStep(_ context.Context, i *StepInfo) error {
	lr := map[string]float64{}
	for _, g := range i.LR {
		lr[g.Group] = g.LR
	}
	return h.write(MetricsRecord{Type: "step", Step: i.Step, Epoch: i.Epoch, Loss: finite(i.Loss),
		GradNorm: finite(i.GradNorm), LR: lr, ElapsedS: i.Elapsed.Seconds()})
}

// OnEval implements Hook.
func (h *JSONLHook) OnEval(_ context.Context, i *EvalInfo) error {
	per := map[string]Scores{}
	for _, s := range i.PerLabel {
		per[s.Label] = Scores{TP: s.TP, Predicted: s.Predicted, Gold: s.Gold, Precision: s.Precision, Recall: s.Recall, F1: s.F1}
	}
	return h.write(MetricsRecord{Type: "eval", Step: i.Step, Epoch: i.Epoch, Precision: finite(i.Micro.Precision),
		Recall: finite(i.Micro.Recall), F1: finite(i.Micro.F1), PerLabel: per, BestF1: finite(i.BestF1),
		ElapsedS: i.Elapsed.Seconds()})
}

// OnEnd implements Hook.
func (h *JSONLHook) OnEnd(context.Context, *EndInfo) error {
	if h.f == nil {
		return nil
	}
	err := h.f.Close()
	h.f = nil
	return err
}

// ReadMetrics reads a metrics JSONL file.
func ReadMetrics(path string) ([]MetricsRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []MetricsRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r MetricsRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// PlotHook draws the training loss and the dev F1 against the step from the
// metrics JSONL file (written by a JSONLHook placed before it) into a PNG,
// atomically, after each evaluation and at the end.
type PlotHook struct {
	NopHook
	MetricsPath string
	Path        string // PNG output
}

// OnEval implements Hook.
func (h *PlotHook) OnEval(context.Context, *EvalInfo) error { return h.Plot() }

// OnEnd implements Hook.
func (h *PlotHook) OnEnd(context.Context, *EndInfo) error { return h.Plot() }

// Plot renders the PNG now.
func (h *PlotHook) Plot() error {
	recs, err := ReadMetrics(h.MetricsPath)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	var loss, f1 plotter.XYs
	for _, r := range recs {
		if r.Type == "step" && r.Loss != nil {
			loss = append(loss, plotter.XY{X: float64(r.Step), Y: *r.Loss})
		}
		if r.Type == "eval" && r.F1 != nil {
			f1 = append(f1, plotter.XY{X: float64(r.Step), Y: *r.F1})
		}
	}
	top, err := linePlot("training loss", "loss", loss)
	if err != nil {
		return err
	}
	bottom, err := linePlot("dev F1 (micro)", "F1", f1)
	if err != nil {
		return err
	}
	img := vgimg.New(8*vg.Inch, 6*vg.Inch)
	dc := draw.New(img)
	plots := [][]*plot.Plot{{top}, {bottom}}
	cs := plot.Align(plots, draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter}, dc)
	top.Draw(cs[0][0])
	bottom.Draw(cs[1][0])
	if err := checkpoints.WriteFileAtomic(h.Path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

func linePlot(title, y string, xys plotter.XYs) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	if len(xys) > 0 {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", title, err)
		}
		p.Add(l)
		if len(xys) <= 50 {
			s, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", title, err)
			}
			p.Add(s)
		}
	}
	return p, nil
}

// ProgressHook draws a progress bar with loss, rate and ETA. On a terminal
// it redraws one line (carriage return, at most every Interval); otherwise
// it prints a plain line every Interval (default 10 s) and at the end.
type ProgressHook struct {
	NopHook
	W        io.Writer
	TTY      bool
	Interval time.Duration
	last     time.Time
	start    int
}

// NewProgress returns a progress bar on f, detecting whether f is a
// terminal.
func NewProgress(f *os.File) *ProgressHook {
	tty := false
	if st, err := f.Stat(); err == nil {
		tty = st.Mode()&os.ModeCharDevice != 0
	}
	return &ProgressHook{W: f, TTY: tty}
}

// OnStart implements Hook.
func (h *ProgressHook) OnStart(_ context.Context, i *StartInfo) error {
	h.start = i.Step
	h.last = time.Time{}
	return nil
}

// OnStep implements Hook.
func (h *ProgressHook) OnStep(_ context.Context, i *StepInfo) error {
	iv := h.Interval
	if iv == 0 {
		iv = 10 * time.Second
		if h.TTY {
			iv = 100 * time.Millisecond
		}
	}
	now := time.Now()
	if i.Step != i.MaxSteps && !h.last.IsZero() && now.Sub(h.last) < iv {
		return nil
	}
	h.last = now
	line := ProgressLine(i.Step, i.MaxSteps, i.Step-i.StartStep, i.Elapsed, i.Loss)
	var err error
	if h.TTY {
		end := ""
		if i.Step == i.MaxSteps {
			end = "\n"
		}
		_, err = fmt.Fprintf(h.W, "\r%s\x1b[K%s", line, end)
	} else {
		_, err = fmt.Fprintln(h.W, line)
	}
	return err
}

// OnEnd implements Hook.
func (h *ProgressHook) OnEnd(_ context.Context, i *EndInfo) error {
	if h.TTY && i.Step != 0 {
		_, err := fmt.Fprintln(h.W)
		return err
	}
	return nil
}

// ProgressLine formats a progress bar: steps done of total, a 30-cell bar,
// percentage, loss, rate over the done steps in elapsed time, and ETA.
func ProgressLine(step, total, done int, elapsed time.Duration, loss float64) string {
	const width = 30
	frac := float64(step) / float64(max(total, 1))
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-step) / rate * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("step %d/%d [%s] %5.1f%% loss %.4f %.2f it/s ETA %s", step, total, bar, 100*frac, loss, rate, eta)
}
