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
	"strconv"
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
	fields := []zap.Field{zap.Int("step", i.Step), zap.Int("epoch", i.Epoch), zap.Float64("loss", sig4(i.Loss)),
		zap.Float64("grad_norm", sig4(i.GradNorm))}
	fields = append(fields, LRFields(i.LR)...)
	h.Logger.Info("train step", append(fields, zap.Duration("elapsed", i.Elapsed.Round(time.Millisecond)))...)
	return nil
}

// sig4 rounds x to 4 significant digits (log lines stay short; the
// metrics file keeps every digit).
func sig4(x float64) float64 {
	if !isFinite(x) || x == 0 {
		return x
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	if err != nil {
		return x
	}
	return v
}

// LRFields are the log fields of the groups' learning rates, as few as the
// values allow: one "lr" when every group has the same rate, else one
// field per group family ("lr_encoder" for encoder_decay and
// encoder_no_decay when they agree), else one per group.
func LRFields(lrs []GroupLR) []zap.Field {
	if len(lrs) == 0 {
		return nil
	}
	same := true
	for _, g := range lrs {
		same = same && g.LR == lrs[0].LR
	}
	if same {
		return []zap.Field{zap.Float64("lr", sig4(lrs[0].LR))}
	}
	family := func(name string) string {
		for _, suf := range []string{"_no_decay", "_decay"} {
			if f, ok := strings.CutSuffix(name, suf); ok && f != "" {
				return f
			}
		}
		return name
	}
	var names []string
	vals := map[string]float64{}
	split := false
	for _, g := range lrs {
		f := family(g.Group)
		if v, ok := vals[f]; ok {
			split = split || v != g.LR
			continue
		}
		names = append(names, f)
		vals[f] = g.LR
	}
	var out []zap.Field
	if split {
		for _, g := range lrs {
			out = append(out, zap.Float64("lr_"+g.Group, sig4(g.LR)))
		}
		return out
	}
	for _, f := range names {
		out = append(out, zap.Float64("lr_"+f, sig4(vals[f])))
	}
	return out
}

// OnEval implements Hook.
func (h *LogHook) OnEval(_ context.Context, i *EvalInfo) error {
	h.Logger.Info("eval", zap.Int("step", i.Step), zap.Float64("precision", sig4(i.Micro.Precision)),
		zap.Float64("recall", sig4(i.Micro.Recall)), zap.Float64("f1", sig4(i.Micro.F1)), zap.Bool("best", i.IsBest),
		zap.Float64("best_f1", sig4(i.BestF1)), zap.Int("best_step", i.BestStep), zap.Int("evals_since_best", i.EvalsSinceBest))
	return nil
}

// OnCheckpoint implements Hook.
func (h *LogHook) OnCheckpoint(_ context.Context, i *CheckpointInfo) error {
	h.Logger.Info("checkpoint", zap.Int("step", i.Step), zap.String("dir", i.Dir))
	return nil
}

// OnEnd implements Hook.
func (h *LogHook) OnEnd(_ context.Context, i *EndInfo) error {
	h.Logger.Info("train end", zap.Int("step", i.Step), zap.String("reason", i.Reason), zap.Float64("loss", sig4(i.Loss)),
		zap.Float64("best_f1", sig4(i.BestF1)), zap.Int("best_step", i.BestStep), zap.Duration("elapsed", i.Elapsed.Round(time.Millisecond)))
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
	// Batches are a step's micro-batches' example indices (JSONLHook with
	// LogBatches).
	Batches [][]int `json:"batches,omitempty"`
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
	// LogBatches adds each step's example indices (StepInfo.Batches, one
	// list per micro-batch) to its record as "batches".
	LogBatches bool
	f          *os.File
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
	r := MetricsRecord{Type: "step", Step: i.Step, Epoch: i.Epoch, Loss: finite(i.Loss),
		GradNorm: finite(i.GradNorm), LR: lr, ElapsedS: i.Elapsed.Seconds()}
	if h.LogBatches {
		r.Batches = i.Batches
	}
	return h.write(r)
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
	top, bottom, err := TrainPlots(recs)
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

// TrainPlots are PlotHook's two panels from metrics records: the training
// loss on a log scale (losses span orders of magnitude; steps whose loss
// is 0 cannot be drawn on it and are counted in the title; with no
// positive loss the scale stays linear) and the dev F1 on a fixed [0, 1]
// axis with ticks every 0.1, labelled every 0.2.
func TrainPlots(recs []MetricsRecord) (loss, f1 *plot.Plot, err error) {
	var lossXY, f1XY plotter.XYs
	zero := 0
	for _, r := range recs {
		if r.Type == "step" && r.Loss != nil {
			if *r.Loss > 0 {
				lossXY = append(lossXY, plotter.XY{X: float64(r.Step), Y: *r.Loss})
			} else {
				zero++
			}
		}
		if r.Type == "eval" && r.F1 != nil {
			f1XY = append(f1XY, plotter.XY{X: float64(r.Step), Y: *r.F1})
		}
	}
	title := "training loss (log scale)"
	if zero > 0 {
		title = fmt.Sprintf("training loss (log scale; %d steps with loss ≤ 0 not drawn)", zero)
	}
	if len(lossXY) == 0 {
		title = "training loss"
	}
	if loss, err = linePlot(title, "loss", lossXY); err != nil {
		return nil, nil, err
	}
	if len(lossXY) > 0 {
		loss.Y.Scale = plot.LogScale{}
		loss.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if f1, err = linePlot("dev F1 (micro)", "F1", f1XY); err != nil {
		return nil, nil, err
	}
	UnitAxis(&f1.Y)
	return loss, f1, nil
}

// UnitAxis fixes a plot axis to [0, 1] with ticks every 0.1, labelled
// every 0.2 (F1, precision, recall), so that runs compare at a glance.
func UnitAxis(a *plot.Axis) {
	a.Min, a.Max = 0, 1
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		t := plot.Tick{Value: float64(i) / 10}
		if i%2 == 0 {
			t.Label = strconv.FormatFloat(t.Value, 'f', 1, 64)
		}
		ticks = append(ticks, t)
	}
	a.Tick.Marker = plot.ConstantTicks(ticks)
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
