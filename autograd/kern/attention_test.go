package kern

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

type attnCase struct {
	name    string
	kind    int
	d       AttnDims
	c       Disentangled
	mask    []float64
	dropout bool
	// fd: the float64 reference is differentiable at the sample (every row
	// has a real score), so finite differences apply.
	fd bool
}

type attnData struct {
	q, k, v, pk, pq       []float32
	q64, k64, v64, p64k   []float64
	p64q, mask64, drop64  []float64
	mask, drop            []float32
	ref                   refAttn
	probs, ctx, ws        []float32
	dq, dk, dv, dpk, dpq  []float32
	dctx                  []float32
	dctx64                []float64
	probs64Ref, ctx64Ref  []float64
	tableRows, tableWidth int
}

func newAttnData(t *testing.T, tc attnCase, seed uint64) *attnData {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	d := tc.d
	n := d.Batch * d.Seq * d.Heads * d.HeadDim
	a := &attnData{}
	a.q, a.q64 = f32(randVec(r, n, 1))
	a.k, a.k64 = f32(randVec(r, n, 1))
	a.v, a.v64 = f32(randVec(r, n, 1))
	if tc.kind == refDeberta {
		rows := 2 * tc.c.AttSpan * d.Heads * d.HeadDim
		a.pk, a.p64k = f32(randVec(r, rows, 1))
		a.pq, a.p64q = f32(randVec(r, rows, 1))
	}
	a.mask, a.mask64 = f32(tc.mask)
	if tc.dropout {
		dv := make([]float64, d.Batch*d.Heads*d.Seq*d.Seq)
		for i := range dv {
			if r.Float64() < 0.25 {
				dv[i] = 0
			} else {
				dv[i] = 1 / 0.75
			}
		}
		a.drop, a.drop64 = f32(dv)
	}
	a.ref = refAttn{d: d, kind: tc.kind, c: tc.c, mask: a.mask64, drop: a.drop64}
	a.dctx, a.dctx64 = f32(randVec(r, n, 1))
	return a
}

func (a *attnData) inputs() AttnInputs {
	return AttnInputs{Q: a.q, K: a.k, V: a.v, Mask: a.mask, ProbsDropout: a.drop}
}

func kernForward(tc attnCase, a *attnData) error {
	d := tc.d
	a.probs = make([]float32, d.Batch*d.Heads*d.Seq*d.Seq)
	a.ctx = make([]float32, d.Batch*d.Seq*d.Heads*d.HeadDim)
	for i := range a.ctx {
		a.ctx[i] = 99 // must be overwritten
	}
	switch tc.kind {
	case refBert:
		a.ws = make([]float32, AttentionWorkspaceSize(d))
		return BertAttentionForward(d, a.inputs(), a.probs, a.ctx, a.ws)
	case refCausal:
		a.ws = make([]float32, AttentionWorkspaceSize(d))
		return CausalAttentionForward(d, a.inputs(), a.probs, a.ctx, a.ws)
	default:
		a.ws = make([]float32, DisentangledWorkspaceSize(d, tc.c))
		return DisentangledAttentionForward(d, tc.c, a.inputs(), a.pk, a.pq, a.probs, a.ctx, a.ws)
	}
}

func kernBackward(tc attnCase, a *attnData) error {
	n := len(a.q)
	fill := func(k int) []float32 {
		s := make([]float32, k)
		for i := range s {
			s[i] = 77 // must be overwritten
		}
		return s
	}
	a.dq, a.dk, a.dv = fill(n), fill(n), fill(n)
	g := AttnGrads{DQ: a.dq, DK: a.dk, DV: a.dv}
	switch tc.kind {
	case refBert:
		return BertAttentionBackward(tc.d, a.inputs(), a.probs, a.dctx, g, a.ws)
	case refCausal:
		return CausalAttentionBackward(tc.d, a.inputs(), a.probs, a.dctx, g, a.ws)
	default:
		a.dpk, a.dpq = fill(len(a.p64k)), fill(len(a.p64q))
		if a.p64k == nil {
			a.dpk = nil
		}
		if a.p64q == nil {
			a.dpq = nil
		}
		return DisentangledAttentionBackward(tc.d, tc.c, a.inputs(), a.pk, a.pq, a.probs, a.dctx, g, a.dpk, a.dpq, a.ws)
	}
}

func onesExcept(B, T int, zeros map[[2]int]bool) []float64 {
	m := make([]float64, B*T)
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			if !zeros[[2]int{b, t}] {
				m[b*T+t] = 1
			}
		}
	}
	return m
}

func mustRelIndex(t *testing.T, T, P, Pmax int) []int32 {
	t.Helper()
	idx, err := BuildRelativeIndex(T, P, Pmax)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func attnCases(t *testing.T) []attnCase {
	d := AttnDims{Batch: 2, Seq: 5, Heads: 2, HeadDim: 3}
	rightPad := onesExcept(2, 5, map[[2]int]bool{{1, 3}: true, {1, 4}: true})
	leftPad := onesExcept(2, 5, map[[2]int]bool{{1, 0}: true, {1, 1}: true})
	middle := onesExcept(2, 5, map[[2]int]bool{{0, 2}: true, {1, 0}: true, {1, 4}: true})
	allMasked := onesExcept(2, 5, map[[2]int]bool{{1, 0}: true, {1, 1}: true, {1, 2}: true, {1, 3}: true, {1, 4}: true})
	// P=4, Pmax=6: |r| ∈ {3,4} goes through the log branch and shares buckets.
	bucketed := Disentangled{AttSpan: AttSpan(4, 6), C2P: true, P2C: true, RelIndex: mustRelIndex(t, 5, 4, 6)}
	// No bucketing and a span of 2: δ is clamped for |r| > 2.
	clamped := Disentangled{AttSpan: AttSpan(0, 2), C2P: true, P2C: true, RelIndex: mustRelIndex(t, 5, 0, 2)}
	c2pOnly := bucketed
	c2pOnly.P2C = false
	p2cOnly := bucketed
	p2cOnly.C2P = false
	return []attnCase{
		{name: "bert/nomask", kind: refBert, d: d, fd: true},
		{name: "bert/mask", kind: refBert, d: d, mask: middle, fd: true},
		{name: "bert/dropout", kind: refBert, d: d, mask: rightPad, dropout: true, fd: true},
		{name: "bert/all-masked-example", kind: refBert, d: d, mask: allMasked},
		{name: "causal/nomask", kind: refCausal, d: d, fd: true},
		{name: "causal/right-pad", kind: refCausal, d: d, mask: rightPad, fd: true},
		{name: "causal/dropout", kind: refCausal, d: d, mask: rightPad, dropout: true, fd: true},
		{name: "causal/left-pad", kind: refCausal, d: d, mask: leftPad},
		{name: "deberta/bucketed", kind: refDeberta, d: d, c: bucketed, mask: middle, fd: true},
		{name: "deberta/nomask", kind: refDeberta, d: d, c: bucketed, fd: true},
		{name: "deberta/clamped", kind: refDeberta, d: d, c: clamped, mask: leftPad, fd: true},
		{name: "deberta/c2p-only", kind: refDeberta, d: d, c: c2pOnly, mask: rightPad, fd: true},
		{name: "deberta/p2c-only", kind: refDeberta, d: d, c: p2cOnly, mask: rightPad, fd: true},
		{name: "deberta/content-only", kind: refDeberta, d: d, c: Disentangled{}, mask: rightPad, fd: true},
		{name: "deberta/no-relative-sf3", kind: refDeberta, d: d, c: Disentangled{ScaleFactor: 3}, mask: middle, fd: true},
		{name: "deberta/dropout", kind: refDeberta, d: d, c: bucketed, mask: middle, dropout: true, fd: true},
		{name: "deberta/all-masked-example", kind: refDeberta, d: d, c: bucketed, mask: allMasked, fd: true},
	}
}

func TestAttentionForwardMatchesReference(t *testing.T) {
	for ci, tc := range attnCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a := newAttnData(t, tc, uint64(ci+1))
			if err := kernForward(tc, a); err != nil {
				t.Fatal(err)
			}
			ctx, probs := a.ref.forward(a.q64, a.k64, a.v64, a.p64k, a.p64q)
			assertClose(t, "probs", a.probs, probs, 2e-6)
			assertClose(t, "ctx", a.ctx, ctx, 5e-6)
		})
	}
}

func TestAttentionBackwardMatchesReference(t *testing.T) {
	for ci, tc := range attnCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a := newAttnData(t, tc, uint64(ci+1))
			if err := kernForward(tc, a); err != nil {
				t.Fatal(err)
			}
			if err := kernBackward(tc, a); err != nil {
				t.Fatal(err)
			}
			_, probs := a.ref.forward(a.q64, a.k64, a.v64, a.p64k, a.p64q)
			dq, dk, dv, dpk, dpq := a.ref.backward(a.q64, a.k64, a.v64, a.p64k, a.p64q, probs, a.dctx64)
			assertClose(t, "dQ", a.dq, dq, 1e-5)
			assertClose(t, "dK", a.dk, dk, 1e-5)
			assertClose(t, "dV", a.dv, dv, 1e-5)
			if tc.kind == refDeberta {
				if tc.c.C2P {
					assertClose(t, "dPk", a.dpk, dpk, 1e-5)
				} else {
					assertClose(t, "dPk", a.dpk, make([]float64, len(dpk)), 0)
				}
				if tc.c.P2C {
					assertClose(t, "dPq", a.dpq, dpq, 1e-5)
				} else {
					assertClose(t, "dPq", a.dpq, make([]float64, len(dpq)), 0)
				}
			}
		})
	}
}

// TestAttentionFiniteDifferences checks every input gradient of the kernels
// against central differences of the float64 reference forward, with the
// loss L = Σ ctx ∘ W.
func TestAttentionFiniteDifferences(t *testing.T) {
	for ci, tc := range attnCases(t) {
		if !tc.fd {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			a := newAttnData(t, tc, uint64(ci+100))
			if err := kernForward(tc, a); err != nil {
				t.Fatal(err)
			}
			if err := kernBackward(tc, a); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				ctx, _ := a.ref.forward(a.q64, a.k64, a.v64, a.p64k, a.p64q)
				return dot64(ctx, a.dctx64)
			}
			assertClose(t, "dQ", a.dq, numGrad(a.q64, loss), 2e-5)
			assertClose(t, "dK", a.dk, numGrad(a.k64, loss), 2e-5)
			assertClose(t, "dV", a.dv, numGrad(a.v64, loss), 2e-5)
			if tc.kind == refDeberta && tc.c.C2P {
				assertClose(t, "dPk", a.dpk, numGrad(a.p64k, loss), 2e-5)
			}
			if tc.kind == refDeberta && tc.c.P2C {
				assertClose(t, "dPq", a.dpq, numGrad(a.p64q, loss), 2e-5)
			}
		})
	}
}

func TestAttentionSemantics(t *testing.T) {
	cases := attnCases(t)
	find := func(name string) attnCase {
		for _, c := range cases {
			if c.name == name {
				return c
			}
		}
		t.Fatalf("no case %s", name)
		return attnCase{}
	}
	T, H := 5, 2
	t.Run("bert all-masked example is uniform", func(t *testing.T) {
		tc := find("bert/all-masked-example")
		a := newAttnData(t, tc, 1)
		if err := kernForward(tc, a); err != nil {
			t.Fatal(err)
		}
		for x := H * T * T; x < 2*H*T*T; x++ {
			if a.probs[x] != 0.2 {
				t.Fatalf("probs[%d] = %v, want 0.2", x, a.probs[x])
			}
		}
	})
	t.Run("causal left-pad row attends uniformly to fmin entries", func(t *testing.T) {
		tc := find("causal/left-pad")
		a := newAttnData(t, tc, 1)
		if err := kernForward(tc, a); err != nil {
			t.Fatal(err)
		}
		// Batch 1, query 0: keys 0 (padded, fmin), 1 (padded, causal: −Inf),
		// 2..4 (causal fmin): uniform 1/4 over {0,2,3,4}.
		row := a.probs[H*T*T : H*T*T+T]
		want := []float32{0.25, 0, 0.25, 0.25, 0.25}
		for j := range want {
			if row[j] != want[j] {
				t.Fatalf("row %v, want %v", row, want)
			}
		}
	})
	t.Run("deberta padded query rows are zero", func(t *testing.T) {
		tc := find("deberta/bucketed")
		a := newAttnData(t, tc, 1)
		if err := kernForward(tc, a); err != nil {
			t.Fatal(err)
		}
		// Batch 0, token 2 is padded: its probability row and its context
		// are zero, and column 2 is zero in every row.
		for h := 0; h < H; h++ {
			for j := 0; j < T; j++ {
				if v := a.probs[(0*H+h)*T*T+2*T+j]; v != 0 {
					t.Fatalf("probs[0,%d,2,%d] = %v, want 0", h, j, v)
				}
				if v := a.probs[(0*H+h)*T*T+j*T+2]; v != 0 {
					t.Fatalf("probs[0,%d,%d,2] = %v, want 0", h, j, v)
				}
			}
		}
		HD := H * tc.d.HeadDim
		for x := 2 * HD; x < 3*HD; x++ {
			if a.ctx[x] != 0 {
				t.Fatalf("ctx[0,2,%d] = %v, want 0", x-2*HD, a.ctx[x])
			}
		}
	})
}

// TestAttentionNilGradients checks that a nil gradient slice is skipped and
// that the others are unchanged by it.
func TestAttentionNilGradients(t *testing.T) {
	for ci, tc := range attnCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a := newAttnData(t, tc, uint64(ci+1))
			if err := kernForward(tc, a); err != nil {
				t.Fatal(err)
			}
			if err := kernBackward(tc, a); err != nil {
				t.Fatal(err)
			}
			for _, which := range []string{"dq", "dk", "dv", "dpk"} {
				g := AttnGrads{}
				out := make([]float32, len(a.q))
				var want []float32
				var dpk []float32
				switch which {
				case "dq":
					g.DQ, want = out, a.dq
				case "dk":
					g.DK, want = out, a.dk
				case "dv":
					g.DV, want = out, a.dv
				case "dpk":
					if tc.kind != refDeberta || !tc.c.C2P {
						continue
					}
					dpk = make([]float32, len(a.pk))
					out, want = dpk, a.dpk
				}
				var err error
				switch tc.kind {
				case refBert:
					err = BertAttentionBackward(tc.d, a.inputs(), a.probs, a.dctx, g, a.ws)
				case refCausal:
					err = CausalAttentionBackward(tc.d, a.inputs(), a.probs, a.dctx, g, a.ws)
				default:
					err = DisentangledAttentionBackward(tc.d, tc.c, a.inputs(), a.pk, a.pq, a.probs, a.dctx, g, dpk, nil, a.ws)
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if out[i] != want[i] {
						t.Fatalf("%s alone: [%d] = %v, with all grads %v", which, i, out[i], want[i])
					}
				}
			}
		})
	}
}

// TestAttentionDeterministic checks bit-identical results for different
// worker counts.
func TestAttentionDeterministic(t *testing.T) {
	old := Workers
	defer func() { Workers = old }()
	for ci, tc := range attnCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var ref *attnData
			for _, w := range []int{1, 2, 3, 8} {
				Workers = w
				a := newAttnData(t, tc, uint64(ci+1))
				if err := kernForward(tc, a); err != nil {
					t.Fatal(err)
				}
				if err := kernBackward(tc, a); err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref = a
					continue
				}
				for _, p := range []struct {
					name string
					x, y []float32
				}{{"ctx", a.ctx, ref.ctx}, {"probs", a.probs, ref.probs}, {"dq", a.dq, ref.dq}, {"dk", a.dk, ref.dk}, {"dv", a.dv, ref.dv}, {"dpk", a.dpk, ref.dpk}, {"dpq", a.dpq, ref.dpq}} {
					for i := range p.x {
						if p.x[i] != p.y[i] {
							t.Fatalf("workers=%d: %s[%d] = %v, workers=1 gave %v", w, p.name, i, p.x[i], p.y[i])
						}
					}
				}
			}
		})
	}
}

func TestAttentionBadInput(t *testing.T) {
	d := AttnDims{Batch: 2, Seq: 3, Heads: 2, HeadDim: 2}
	n := 2 * 3 * 4
	ok := func() AttnInputs {
		return AttnInputs{Q: make([]float32, n), K: make([]float32, n), V: make([]float32, n)}
	}
	probs := make([]float32, 2*2*3*3)
	ctx := make([]float32, n)
	ws := make([]float32, AttentionWorkspaceSize(d))
	short := ok()
	short.K = short.K[:n-1]
	if err := BertAttentionForward(d, short, probs, ctx, ws); err == nil || !strings.Contains(err.Error(), "K has 23 values, want 24") {
		t.Errorf("short K: got %v", err)
	}
	badMask := ok()
	badMask.Mask = make([]float32, 5)
	if err := CausalAttentionForward(d, badMask, probs, ctx, ws); err == nil || !strings.Contains(err.Error(), "Mask") {
		t.Errorf("bad mask: got %v", err)
	}
	if err := BertAttentionForward(d, ok(), probs, ctx, ws[:3]); err == nil || !strings.Contains(err.Error(), "workspace") {
		t.Errorf("short workspace: got %v", err)
	}
	if err := BertAttentionBackward(d, ok(), probs, ctx, AttnGrads{DQ: make([]float32, 3)}, ws); err == nil || !strings.Contains(err.Error(), "DQ") {
		t.Errorf("short DQ: got %v", err)
	}
	c := Disentangled{AttSpan: 2, C2P: true, P2C: true, RelIndex: make([]int32, 9)}
	c.RelIndex[4] = 4
	dws := make([]float32, DisentangledWorkspaceSize(d, c))
	pk := make([]float32, 4*4)
	if err := DisentangledAttentionForward(d, c, ok(), pk, pk, probs, ctx, dws); err == nil || !strings.Contains(err.Error(), "RelIndex[1,1] = 4") {
		t.Errorf("bad rel index: got %v", err)
	}
	c.RelIndex[4] = 0
	if err := DisentangledAttentionForward(d, c, ok(), pk, pk[:3], probs, ctx, dws); err == nil || !strings.Contains(err.Error(), "Pq") {
		t.Errorf("short Pq: got %v", err)
	}
	if err := DisentangledAttentionForward(AttnDims{Batch: 1, Seq: 1, Heads: 0, HeadDim: 1}, c, ok(), pk, pk, probs, ctx, dws); err == nil {
		t.Errorf("zero heads accepted")
	}
}

func TestAttnExp(t *testing.T) {
	for i := 0; i <= 2100000; i++ {
		x := -float32(i) * 0.00005
		got, want := attnExp(x), float32(math.Exp(float64(x)))
		if want < 1e-37 { // float32 subnormals: absolute error only
			if math.Abs(float64(got-want)) > 1e-44 {
				t.Fatalf("attnExp(%g) = %g, want %g", x, got, want)
			}
			continue
		}
		if d := math.Abs(float64(got-want)) / float64(want); d > 1.2e-7 {
			t.Fatalf("attnExp(%g) = %g, want %g (rel %.3g)", x, got, want, d)
		}
	}
	if attnExp(0) != 1 || attnExp(float32(math.Inf(-1))) != 0 || attnExp(-200) != 0 {
		t.Errorf("attnExp special values: %v %v %v", attnExp(0), attnExp(float32(math.Inf(-1))), attnExp(-200))
	}
	if nan := attnExp(float32(math.NaN())); nan == nan {
		t.Errorf("attnExp(NaN) = %v, want NaN", nan)
	}
}
