package train_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gliner-go/gliner/train"
)

func TestBuiltinHooks(t *testing.T) {
	dir := t.TempDir()
	metrics, plotPath := filepath.Join(dir, "metrics.jsonl"), filepath.Join(dir, "loss.png")
	core, logs := observer.New(zapcore.InfoLevel)
	var progress bytes.Buffer
	r := newRun(t, dir, 1)
	r.cfg.MaxSteps = 20
	res := r.train(t, &train.LogHook{Logger: zap.New(core)}, &train.JSONLHook{Path: metrics},
		&train.PlotHook{MetricsPath: metrics, Path: plotPath}, &train.ProgressHook{W: &progress, Interval: time.Hour})

	recs, err := train.ReadMetrics(metrics)
	if err != nil {
		t.Fatal(err)
	}
	var steps, evals int
	for _, rec := range recs {
		switch rec.Type {
		case "step":
			steps++
			if rec.Loss == nil || rec.GradNorm == nil || len(rec.LR) != 4 || rec.Step != steps {
				t.Fatalf("step record %+v", rec)
			}
		case "eval":
			evals++
			if rec.F1 == nil || rec.Step != 5*evals || len(rec.PerLabel) != 1 || rec.PerLabel["pos"].Gold == 0 {
				t.Fatalf("eval record %+v", rec)
			}
		}
	}
	if steps != 20 || evals != 4 {
		t.Fatalf("%d step and %d eval records, want 20 and 4", steps, evals)
	}
	if res.Loss != *recs[len(recs)-2].Loss && res.Loss != *recs[len(recs)-1].Loss {
		t.Fatalf("last loss %v not in the metrics file", res.Loss)
	}

	f, err := os.Open(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("plot: %v %v", err, img)
	}

	if n := logs.FilterMessage("train step").Len(); n != 20 {
		t.Errorf("%d step log entries, want 20", n)
	}
	ev := logs.FilterMessage("eval").All()
	if len(ev) != 4 || ev[0].ContextMap()["step"] != int64(5) {
		t.Errorf("eval log entries %v", ev)
	}
	if logs.FilterMessage("checkpoint").Len() != 5 || logs.FilterMessage("train end").Len() != 1 {
		t.Errorf("checkpoint/end log entries missing")
	}

	// Not a terminal: plain lines, no escape codes; the first step and the
	// last are printed (interval one hour).
	out := progress.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.ContainsAny(out, "\r\x1b") || len(lines) != 2 || !strings.HasPrefix(lines[1], "train step 20/20 [==============================] 100.0%") ||
		!strings.Contains(lines[1], " loss ") {
		t.Fatalf("progress output %q", out)
	}

	// A resumed run keeps the records up to its start step and continues.
	r2 := newRun(t, dir, 1)
	r2.cfg.MaxSteps, r2.cfg.ResumeFrom = 20, train.CheckpointDir(dir, 12)
	r2.train(t, &train.JSONLHook{Path: metrics})
	recs2, err := train.ReadMetrics(metrics)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs2) != len(recs) {
		t.Fatalf("resumed metrics have %d records, want %d", len(recs2), len(recs))
	}
	for i := range recs {
		if recs[i].Step != recs2[i].Step || recs[i].Type != recs2[i].Type || (recs[i].Loss != nil && *recs[i].Loss != *recs2[i].Loss) {
			t.Fatalf("record %d: %+v vs resumed %+v", i, recs[i], recs2[i])
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := train.ProgressLine(25, 100, 20, 10*time.Second, 0.5)
	want := "step 25/100 [=======>                      ]  25.0% 2.00 it/s ETA 38s loss 0.5000"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestHookStop(t *testing.T) {
	r := newRun(t, t.TempDir(), 1)
	res := r.train(t, stopAt{step: 7})
	if res.Reason != train.ReasonHook || res.Steps != 7 || res.LastCheckpoint != train.CheckpointDir(r.cfg.OutputDir, 7) {
		t.Fatalf("result %+v, want a hook stop at 7 with its checkpoint", res)
	}
}

type stopAt struct {
	train.NopHook
	step int
}

func (s stopAt) OnStep(_ context.Context, i *train.StepInfo) error {
	if i.Step == s.step {
		return train.ErrStop
	}
	return nil
}

// screen replays terminal output (carriage return, newline, erase-line
// escapes) and returns the lines left on the screen, trailing blanks cut.
func screen(out string) []string {
	var rows [][]rune
	row, col := 0, 0
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		for len(rows) <= row {
			rows = append(rows, nil)
		}
		switch c := rs[i]; {
		case c == '\r':
			col = 0
		case c == '\n':
			row, col = row+1, 0
		case c == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < '@' || rs[j] > '~') {
				j++
			}
			if j < len(rs) && rs[j] == 'K' {
				if string(rs[i+2:j]) == "2" {
					rows[row] = nil
				} else if col < len(rows[row]) {
					rows[row] = rows[row][:col]
				}
			}
			i = j
		default:
			for len(rows[row]) <= col {
				rows[row] = append(rows[row], ' ')
			}
			rows[row][col] = c
			col++
		}
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.TrimRight(string(r), " "))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// On a terminal the bar is cleared before each log line and redrawn after:
// every log line stands alone on its row, and the finished bar is last.
func TestProgressTTY(t *testing.T) {
	var buf bytes.Buffer
	h := &train.ProgressHook{W: &buf, TTY: true, Interval: time.Nanosecond}
	ctx := context.Background()
	log1 := "10:00:01 INFO train step {\"step\": 1, \"loss\": 1}\n"
	log2 := "10:00:02 INFO eval {\"step\": 2, \"f1\": 0.5}\n"
	h.OnStart(ctx, &train.StartInfo{MaxSteps: 4})
	h.OnStep(ctx, &train.StepInfo{Step: 1, MaxSteps: 4, Elapsed: time.Second, Loss: 1})
	h.Write([]byte(log1))
	h.OnStep(ctx, &train.StepInfo{Step: 2, MaxSteps: 4, Elapsed: 2 * time.Second, Loss: 0.75})
	fmt.Fprint(h.Above(&buf), log2)
	h.OnStep(ctx, &train.StepInfo{Step: 3, MaxSteps: 4, Elapsed: 3 * time.Second, Loss: 0.5})
	h.OnStep(ctx, &train.StepInfo{Step: 4, MaxSteps: 4, Elapsed: 4 * time.Second, Loss: 0.25})
	h.OnEnd(ctx, &train.EndInfo{Step: 4})
	got := screen(buf.String())
	if len(got) != 3 || got[0] != strings.TrimSpace(log1) || got[1] != strings.TrimSpace(log2) ||
		!strings.HasPrefix(got[2], "train loss 0.2500 100% [==============================] (4/4") {
		t.Fatalf("screen:\n%s\n(raw %q)", strings.Join(got, "\n"), buf.String())
	}
	// Between the two log lines the bar was drawn at step 1.
	if !strings.Contains(buf.String(), "train loss 1.0000  25%") {
		t.Fatalf("no bar at step 1 in %q", buf.String())
	}
}

// A task of unknown length (weak labelling) shows its count and status;
// not on a terminal, a plain line at the end.
func TestProgressTask(t *testing.T) {
	var buf bytes.Buffer
	h := &train.ProgressHook{W: &buf, Interval: time.Hour}
	h.Begin("round 1: labelling", 0)
	h.Update(32, "32 documents")
	h.Update(64, "64 documents")
	h.End()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "round 1: labelling: 32 32 documents") || !strings.HasPrefix(lines[1], "round 1: labelling: 64 64 documents (") {
		t.Fatalf("plain task lines %q", buf.String())
	}
}

// On a terminal a task of unknown length counts its units (documents),
// not its updates.
func TestProgressTaskTTY(t *testing.T) {
	var buf bytes.Buffer
	h := &train.ProgressHook{W: &buf, TTY: true, Interval: time.Nanosecond}
	h.Begin("round 1: teacher labels the corpus", 0)
	h.Update(32, "documents")
	time.Sleep(time.Millisecond)
	h.Update(64, "documents")
	h.End()
	got := screen(buf.String())
	if len(got) != 1 || !strings.Contains(got[0], "round 1: teacher labels the corpus documents") || !strings.Contains(got[0], "(64/-, ") {
		t.Fatalf("screen %q (raw %q)", got, buf.String())
	}
}

// Step log lines carry as few learning rates as the values allow.
func TestLRFields(t *testing.T) {
	keys := func(lrs ...train.GroupLR) string {
		var out []string
		for _, f := range train.LRFields(lrs) {
			out = append(out, fmt.Sprintf("%s=%g", f.Key, math.Float64frombits(uint64(f.Integer))))
		}
		return strings.Join(out, " ")
	}
	g := func(name string, lr float64) train.GroupLR { return train.GroupLR{Group: name, LR: lr} }
	for _, c := range []struct {
		got, want string
	}{
		{keys(g("others_decay", 1e-3), g("others_no_decay", 1e-3), g("encoder_decay", 1e-3), g("encoder_no_decay", 1e-3)), "lr=0.001"},
		{keys(g("others_decay", 3e-3), g("others_no_decay", 3e-3), g("encoder_decay", 1e-3), g("encoder_no_decay", 1e-3)), "lr_others=0.003 lr_encoder=0.001"},
		{keys(g("others_decay", 3e-3), g("others_no_decay", 2e-3), g("encoder_decay", 1e-3), g("encoder_no_decay", 1e-3)),
			"lr_others_decay=0.003 lr_others_no_decay=0.002 lr_encoder_decay=0.001 lr_encoder_no_decay=0.001"},
		{keys(g("decay", 0.123456789), g("no_decay", 0.123456789)), "lr=0.1235"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
