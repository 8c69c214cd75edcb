package train_test

import (
	"bytes"
	"context"
	"image/png"
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
	if strings.ContainsAny(out, "\r\x1b") || len(lines) != 2 || !strings.HasPrefix(lines[1], "step 20/20 [==============================] 100.0%") {
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
	want := "step 25/100 [=======>                      ]  25.0% loss 0.5000 2.00 it/s ETA 38s"
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

func TestProgressTTY(t *testing.T) {
	var buf bytes.Buffer
	h := &train.ProgressHook{W: &buf, TTY: true, Interval: time.Nanosecond}
	ctx := context.Background()
	h.OnStart(ctx, &train.StartInfo{MaxSteps: 2})
	h.OnStep(ctx, &train.StepInfo{Step: 1, MaxSteps: 2, Elapsed: time.Second, Loss: 1})
	h.OnStep(ctx, &train.StepInfo{Step: 2, MaxSteps: 2, Elapsed: 2 * time.Second, Loss: 0.5})
	want := "\rstep 1/2 [===============>              ]  50.0% loss 1.0000 1.00 it/s ETA 1s\x1b[K" +
		"\rstep 2/2 [==============================] 100.0% loss 0.5000 1.00 it/s ETA 0s\x1b[K\n"
	if buf.String() != want {
		t.Fatalf("got  %q\nwant %q", buf.String(), want)
	}
}
