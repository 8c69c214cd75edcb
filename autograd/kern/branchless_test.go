package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

// branchlessCases are float32 bit patterns around every boundary of the
// masks (±0, the smallest subnormals, ±Inf, the NaN ranges) and random
// patterns.
func branchlessCases() []uint32 {
	bits := []uint32{0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x3f800000, 0xbf800000,
		0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0xff800001, 0x7fc00000, 0xffc00000,
		0x7fffffff, 0xffffffff, 0x7ffffffe, 0x40000000, 0xc0000000}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1 << 20 {
		bits = append(bits, rng.Uint32())
	}
	return bits
}

// ReLU forward and backward give, bit for bit, what `if v > 0` gives.
func TestReLUMatchesBranchDefinition(t *testing.T) {
	bits := branchlessCases()
	x := make([]float32, len(bits))
	dy := make([]float32, len(bits))
	for i, b := range bits {
		x[i] = math.Float32frombits(b)
		dy[i] = math.Float32frombits(bits[(i*7+3)%len(bits)])
	}
	y := make([]float32, len(x))
	ReLUForward(y, x)
	dx := make([]float32, len(x))
	ReLUBackward(dx, dy, x) // x as the "output": every pattern is a case
	bad := 0
	for i, v := range x {
		wantY, wantDX := float32(0), float32(0)
		if v > 0 {
			wantY, wantDX = v, dy[i]
		}
		if math.Float32bits(y[i]) != math.Float32bits(wantY) || math.Float32bits(dx[i]) != math.Float32bits(wantDX) {
			if bad++; bad <= 5 {
				t.Errorf("x bits %#08x, dy bits %#08x: relu %#08x (want %#08x), backward %#08x (want %#08x)", bits[i],
					math.Float32bits(dy[i]), math.Float32bits(y[i]), math.Float32bits(wantY), math.Float32bits(dx[i]), math.Float32bits(wantDX))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d patterns differ", bad, len(x))
	}
	if ReLUForward(y[:3], []float32{-2, 0, 3}); y[0] != 0 || y[1] != 0 || y[2] != 3 {
		t.Errorf("relu(-2, 0, 3) = %v", y[:3])
	}
}

// keep is scale exactly when u ≥ thr, at the edges and on random draws.
func TestDropoutKeepMatchesBranchDefinition(t *testing.T) {
	scale := float32(1 / (1 - 0.4))
	p := 0.4
	thr := uint64(p * (1 << 32))
	us := []uint64{0, 1, thr - 1, thr, thr + 1, 1<<32 - 1}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1 << 16 {
		us = append(us, uint64(rng.Uint32()))
	}
	for _, th := range []uint64{0, 1, thr, 1<<32 - 1} {
		for _, u := range us {
			want := float32(0)
			if u >= th {
				want = scale
			}
			if got := keep(u, th, scale); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("keep(%d, %d) = %v, want %v", u, th, got, want)
			}
		}
	}
}

func reluBranchy(y, x []float32) {
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

// BenchmarkReLUForward compares the masked ReLU with the branch it
// replaced on 4M activations of random sign, one goroutine.
func BenchmarkReLUForward(b *testing.B) {
	x := make([]float32, 1<<22)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, len(x))
	b.Run("branch", func(b *testing.B) {
		b.SetBytes(int64(8 * len(x)))
		for range b.N {
			reluBranchy(y, x)
		}
	})
	b.Run("mask", func(b *testing.B) {
		b.SetBytes(int64(8 * len(x)))
		for range b.N {
			reluInto(y, x)
		}
	})
}

// erf32Branchy is erf32 as it was written with branches on x's sign.
func erf32Branchy(x float32) float32 {
	const (
		p  = 0.3275911
		p1 = 0.254829592
		p2 = -0.284496736
		p3 = 1.421413741
		p4 = -1.453152027
		p5 = 1.061405429
	)
	a := x
	if a < 0 {
		a = -a
	}
	t := 1 / fma32(p, a, 1)
	r := fma32(fma32(fma32(fma32(p5, t, p4), t, p3), t, p2), t, p1)
	e := -attnExp(-(x * x))
	v := fma32(e*t, r, 1)
	if x < 0 {
		return -v
	}
	return v
}

// erf32 gives, bit for bit, what its branch form gives (NaN for NaN), and
// GELU's forward and backward follow.
func TestErf32MatchesBranchForm(t *testing.T) {
	bad := 0
	for _, b := range branchlessCases() {
		x := math.Float32frombits(b)
		got, want := erf32(x), erf32Branchy(x)
		same := math.Float32bits(got) == math.Float32bits(want) || (got != got && want != want)
		if !same {
			if bad++; bad <= 5 {
				t.Errorf("erf32(%v) (bits %#08x) = %v, branch form %v", x, b, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d patterns differ", bad)
	}
	// Values: erf(±0.5) = ±0.5204999, erf(2) = 0.9953223 (erf32 is within
	// 1.5e-7 before its float32 roundings).
	for _, c := range [][2]float32{{0.5, 0.5204999}, {-0.5, -0.5204999}, {2, 0.9953223}, {0, 0}} {
		if got := erf32(c[0]); math.Abs(float64(got-c[1])) > 3e-7 {
			t.Errorf("erf32(%v) = %v, want %v", c[0], got, c[1])
		}
	}
	if got := erf32(float32(math.Copysign(0, -1))); math.Float32bits(got) != 0 {
		t.Errorf("erf32(-0) bits %#08x, want +0 as the branch form gives", math.Float32bits(got))
	}
}

func geluBranchy(y, x []float32) {
	for i, v := range x {
		y[i] = v * 0.5 * (1 + erf32Branchy(v*float32(invSqrt2)))
	}
}

func geluMasked(y, x []float32) {
	for i, v := range x {
		y[i] = v * 0.5 * (1 + erf32(v*float32(invSqrt2)))
	}
}

// BenchmarkGELUForwardBranchless compares GELU through the masked erf32 with the
// branch form on 4M activations of random sign, one goroutine.
func BenchmarkGELUForwardBranchless(b *testing.B) {
	x := make([]float32, 1<<22)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, len(x))
	b.Run("branch", func(b *testing.B) {
		for range b.N {
			geluBranchy(y, x)
		}
	})
	b.Run("mask", func(b *testing.B) {
		for range b.N {
			geluMasked(y, x)
		}
	})
}
