package bench

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/train"
)

// The CPU benchmarks of scripts/bench_cpu_vs_reference.sh, at
// DeBERTa-v3-small's shape by default (hidden 768, 6 layers, 12 heads, FFN
// 3072, vocabulary 128100, batch 8 × 384 tokens, 25 types, max_width 12).
// They run only with GLINER_BENCH_CPU=1 (a step takes tens of seconds on
// two cores); GLINER_BENCH_{HIDDEN,LAYERS,HEADS,FFN,VOCAB,BATCH,SEQ,TYPES,
// MAXWIDTH,WARMUP,STEPS} change the size and the repetitions. Each prints
// "step I SECONDS" (wall time)
// and "cpu I SECONDS" (the process's user+system CPU time, all threads)
// per timed step and "peak_rss_mb X" at the end, the lines the script
// reads, like scripts/bench_cpu_reference.py does.

func cpuBenchEnv(tb testing.TB, name string, def int) int {
	v := os.Getenv("GLINER_BENCH_" + name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("GLINER_BENCH_%s=%q is not a count", name, v)
	}
	return n
}

// cpuBenchSize reads the size; the text fills the sequence as in
// bench_cpu_reference.py (28% of the words split into two pieces).
func cpuBenchSize(tb testing.TB) (z benchSize, seq, warmup, steps int) {
	if os.Getenv("GLINER_BENCH_CPU") != "1" {
		tb.Skip("set GLINER_BENCH_CPU=1 (scripts/bench_cpu_vs_reference.sh does)")
	}
	z = benchSize{
		Hidden: cpuBenchEnv(tb, "HIDDEN", 768), Layers: cpuBenchEnv(tb, "LAYERS", 6), Heads: cpuBenchEnv(tb, "HEADS", 12),
		FFN: cpuBenchEnv(tb, "FFN", 3072), Vocab: cpuBenchEnv(tb, "VOCAB", 128100), Batch: cpuBenchEnv(tb, "BATCH", 8),
		Types: cpuBenchEnv(tb, "TYPES", 25), MaxWidth: cpuBenchEnv(tb, "MAXWIDTH", 12), Dropout: 0.1,
	}
	seq = cpuBenchEnv(tb, "SEQ", 384)
	text := seq - 2 - 2*z.Types - 1
	// Python's round(text / 1.28) (half to even).
	z.Words = int(math.RoundToEven(float64(text) / 1.28))
	z.Split = text - z.Words
	if z.Words < 10 || z.Split < 0 || z.Split > z.Words {
		tb.Fatalf("sequence %d leaves %d text pieces for %d types: too short", seq, text, z.Types)
	}
	return z, seq, cpuBenchEnv(tb, "WARMUP", 1), cpuBenchEnv(tb, "STEPS", 1)
}

// cpuBenchSteps runs warmup untimed and steps timed calls of step,
// printing each timed step's seconds and, at the end, the peak RSS.
func cpuBenchSteps(b *testing.B, warmup, steps int, step func() error) {
	for range warmup {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		for i := range steps {
			t0, c0 := time.Now(), cpuSeconds()
			if err := step(); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("step %d %.3f\n", i, time.Since(t0).Seconds())
			fmt.Printf("cpu %d %.3f\n", i, cpuSeconds()-c0)
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		fmt.Printf("peak_rss_mb %.1f\n", float64(ru.Maxrss)/1024)
	}
}

// cpuSeconds is the process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkCPUEncoderFwdBwd is case (a): forward and backward of the
// DeBERTa-v2 encoder (training mode, dropout 0.1) on sum(out·w), the
// reference's `encoder` mode.
func BenchmarkCPUEncoderFwdBwd(b *testing.B) {
	z, T, warmup, steps := cpuBenchSize(b)
	B := z.Batch
	s, mach := encoderLossMachine(b, z.encoderConfig(z.Vocab), B, T)
	ids, mask := make([]int64, B*T), make([]int64, B*T)
	for i := range ids {
		ids[i] = int64(i*31) % int64(z.Vocab)
		mask[i] = 1
	}
	if err := mach.SetInts("ids", ids, B, T); err != nil {
		b.Fatal(err)
	}
	if err := mach.SetInts("mask", mask, B, T); err != nil {
		b.Fatal(err)
	}
	cpuBenchSteps(b, warmup, steps, func() error {
		s.ZeroGrad()
		return mach.Run()
	})
}

// BenchmarkCPUTrainStep is case (b): one UniEncoderSpan training step
// (zero the gradients, forward and backward, AdamW lr 1e-5, weight decay
// 0.01), the reference's `step` mode.
func BenchmarkCPUTrainStep(b *testing.B) {
	z, T, warmup, steps := cpuBenchSize(b)
	batch, m := benchBatchAndModelSized(b, z)
	if got := batch.InputIDs.Shape[1]; got != T {
		b.Fatalf("sequence length %d, want %d", got, T)
	}
	opt, err := train.NewAdamW([]*train.Group{{Name: "all", BaseLR: 1e-5, LR: 1e-5, WeightDecay: 0.01, Params: m.Store.Params()}},
		train.AdamWOptions{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		b.Fatal(err)
	}
	var trained map[*autograd.Param]bool
	cpuBenchSteps(b, warmup, steps, func() error {
		m.Store.ZeroGrad()
		out, err := m.Step(batch)
		if err != nil {
			return err
		}
		if !(out.Loss > 0) {
			return fmt.Errorf("loss %v", out.Loss)
		}
		if trained == nil {
			trained = map[*autograd.Param]bool{}
			for _, p := range m.TrainedParams(batch) {
				trained[p] = true
			}
		}
		opt.Step(func(p *autograd.Param) bool { return trained[p] })
		return nil
	})
}
