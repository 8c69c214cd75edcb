//go:build glcuda

package cuda

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// TestCUDAFFNTiming times one DeBERTa-v3-base feed-forward block on the
// device, forward and backward: Linear 768→3072, GELU, Linear 3072→768,
// LayerNorm, over 8×384 tokens, the same work as scripts/gpu_bench_ffn.py
// does in PyTorch eager. It prints "cuda_ffn_ms <median ms>" for
// scripts/gpu_check.sh and asserts nothing about speed (it is a
// measurement, run only with GLINER_CUDA_BENCH=1).
func TestCUDAFFNTiming(t *testing.T) {
	if os.Getenv("GLINER_CUDA_BENCH") != "1" {
		t.Skip("NOT RUN: set GLINER_CUDA_BENCH=1 to time the feed-forward block")
	}
	be := gpu(t)
	const rows, h, f = 8 * 384, 768, 3072
	r := rand.New(rand.NewPCG(1, 1))
	g := autograd.NewGraph(autograd.NewStore(), true)
	x := g.Input("x", rows, h)
	l1 := autograd.Linear(x, g.Input("w1", f, h), g.Input("b1", f))
	a := autograd.Act(l1, kern.ActGELU)
	l2 := autograd.Linear(a, g.Input("w2", h, f), g.Input("b2", h))
	autograd.LayerNorm(l2, g.Input("g", h), g.Input("b", h), kern.EpsDeBERTa)
	ks := g.Kernels()
	if len(ks) != 4 {
		t.Fatalf("%d kernels", len(ks))
	}
	X, W1, B1 := dev(t, be, fl(r, rows, h)), dev(t, be, fl(r, f, h)), dev(t, be, fl(r, f))
	W2, B2, G, B := dev(t, be, fl(r, h, f)), dev(t, be, fl(r, h)), dev(t, be, fl(r, h)), dev(t, be, fl(r, h))
	L1, A, L2, Y := devZeros(t, be, []int{rows, f}), devZeros(t, be, []int{rows, f}), devZeros(t, be, []int{rows, h}), devZeros(t, be, []int{rows, h})
	dY := dev(t, be, fl(r, rows, h))
	dL2, dG, dB := devZeros(t, be, []int{rows, h}), devZeros(t, be, []int{h}), devZeros(t, be, []int{h})
	dA, dW2, dB2 := devZeros(t, be, []int{rows, f}), devZeros(t, be, []int{h, f}), devZeros(t, be, []int{h})
	dL1 := devZeros(t, be, []int{rows, f})
	dX, dW1, dB1 := devZeros(t, be, []int{rows, h}), devZeros(t, be, []int{f, h}), devZeros(t, be, []int{f})
	step := func() error {
		for _, c := range []struct {
			k   autograd.Kernel
			in  []autograd.Value
			out autograd.Value
		}{{ks[0], []autograd.Value{X, W1, B1}, L1}, {ks[1], []autograd.Value{L1}, A}, {ks[2], []autograd.Value{A, W2, B2}, L2}, {ks[3], []autograd.Value{L2, G, B}, Y}} {
			if err := be.Forward(c.k, c.in, c.out); err != nil {
				return err
			}
		}
		if err := be.Backward(ks[3], []autograd.Value{L2, G, B}, Y, dY, []autograd.Value{dL2, dG, dB}); err != nil {
			return err
		}
		if err := be.Backward(ks[2], []autograd.Value{A, W2, B2}, L2, dL2, []autograd.Value{dA, dW2, dB2}); err != nil {
			return err
		}
		if err := be.Backward(ks[1], []autograd.Value{L1}, A, dA, []autograd.Value{dL1}); err != nil {
			return err
		}
		if err := be.Backward(ks[0], []autograd.Value{X, W1, B1}, L1, dL1, []autograd.Value{dX, dW1, dB1}); err != nil {
			return err
		}
		return be.Synchronize()
	}
	for i := 0; i < 5; i++ {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var ts []float64
	for i := 0; i < 30; i++ {
		t0 := time.Now()
		if err := step(); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, float64(time.Since(t0).Microseconds())/1000)
	}
	med := median(ts)
	fmt.Printf("cuda_ffn_ms %.3f\n", med)
	t.Logf("feed-forward block 8×384×768 (3072), forward+backward: median %.3f ms over %d steps", med, len(ts))
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
