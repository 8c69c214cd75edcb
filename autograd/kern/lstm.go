package kern

import (
	"fmt"
	"math"
)

// LSTMDims are the sizes of a bidirectional LSTM layer over a padded batch:
// input (Batch, Seq, In), output (Batch, Seq, 2·Hidden).
type LSTMDims struct {
	Batch, Seq, In, Hidden int
}

func (d LSTMDims) String() string {
	return fmt.Sprintf("B=%d W=%d In=%d H=%d", d.Batch, d.Seq, d.In, d.Hidden)
}

// LSTMWeights holds one direction's parameters in PyTorch's nn.LSTM layout
// (gate row blocks i, f, g, o): Wih (4H, In), Whh (4H, H), Bih and Bhh
// (4H). The same type carries their gradients in BiLSTMBackward, where a
// nil field means "not needed".
type LSTMWeights struct {
	Wih, Whh, Bih, Bhh []float32
}

// BiLSTMState holds what BiLSTMForward saves for BiLSTMBackward (activated
// gates, cells, each step's incoming hidden state, the lengths) and the
// workspace both passes use. Make one per shape with NewBiLSTMState and
// reuse it: the kernels do not allocate.
type BiLSTMState struct {
	d       LSTMDims
	lengths []int
	order   []int // batch rows by decreasing length (stable)
	maxLen  int
	ready   bool

	gates [2][]float32 // (B·W, 4H): activated i, f, g, o per step
	cell  [2][]float32 // (B·W, H): c after each step
	hprev [2][]float32 // (B·W, H): h entering each step
	dg    [2][]float32 // (B·W, 4H): pre-activation gate gradients

	// Per-step buffers in sorted-row order: h and c (forward) or dh and dc
	// (backward), the recurrent product / step gate gradients.
	h, c [2][]float32 // (B, H)
	step [2][]float32 // (B, 4H)
}

// NewBiLSTMState allocates the saved buffers and workspace for d.
func NewBiLSTMState(d LSTMDims) (*BiLSTMState, error) {
	s, err := NewBiLSTMStateUnallocated(d)
	if err != nil {
		return nil, err
	}
	for _, b := range s.Buffers() {
		*b.Buf = make([]float32, b.Len)
	}
	return s, nil
}

// NewBiLSTMStateUnallocated is NewBiLSTMState without the large buffers:
// the caller points each of Buffers at memory of its length (an arena)
// before the calls that use it.
func NewBiLSTMStateUnallocated(d LSTMDims) (*BiLSTMState, error) {
	if d.Batch < 0 || d.Seq < 0 || d.In <= 0 || d.Hidden <= 0 {
		return nil, fmt.Errorf("kern.NewBiLSTMState: bad sizes %v", d)
	}
	return &BiLSTMState{d: d, lengths: make([]int, d.Batch), order: make([]int, d.Batch)}, nil
}

// BiLSTMBuffer is one of a BiLSTMState's large buffers and when it holds
// data: Saved ones carry BiLSTMForward's results to BiLSTMBackward,
// BackwardOnly ones are used within one BiLSTMBackward call, the others
// within one call of either (each call overwrites them first).
type BiLSTMBuffer struct {
	Buf                 *[]float32
	Len                 int
	Saved, BackwardOnly bool
}

// Buffers lists the state's large buffers (gates, cells and incoming
// hidden states saved per step, the gate gradients, the per-step work
// rows), so that a caller can place them.
func (s *BiLSTMState) Buffers() []BiLSTMBuffer {
	d := s.d
	bw, h := d.Batch*d.Seq, d.Hidden
	var out []BiLSTMBuffer
	for dir := 0; dir < 2; dir++ {
		out = append(out,
			BiLSTMBuffer{Buf: &s.gates[dir], Len: bw * 4 * h, Saved: true},
			BiLSTMBuffer{Buf: &s.cell[dir], Len: bw * h, Saved: true},
			BiLSTMBuffer{Buf: &s.hprev[dir], Len: bw * h, Saved: true},
			BiLSTMBuffer{Buf: &s.dg[dir], Len: bw * 4 * h, BackwardOnly: true},
			BiLSTMBuffer{Buf: &s.h[dir], Len: d.Batch * h},
			BiLSTMBuffer{Buf: &s.c[dir], Len: d.Batch * h},
			BiLSTMBuffer{Buf: &s.step[dir], Len: d.Batch * 4 * h})
	}
	return out
}

// Dims returns the sizes the state was made for.
func (s *BiLSTMState) Dims() LSTMDims { return s.d }

func (d LSTMDims) checkWeights(fn, dir string, w LSTMWeights, optional bool) {
	h4 := 4 * d.Hidden
	check := checkLen
	if optional {
		check = checkOptLen
	}
	check(fn, dir+".Wih", w.Wih, h4*d.In)
	check(fn, dir+".Whh", w.Whh, h4*d.Hidden)
	check(fn, dir+".Bih", w.Bih, h4)
	check(fn, dir+".Bhh", w.Bhh, h4)
}

// active is the number of sorted rows whose sequence is longer than step.
func (s *BiLSTMState) active(step int) int {
	n := 0
	for n < len(s.order) && s.lengths[s.order[n]] > step {
		n++
	}
	return n
}

// timeOf is the time index direction dir visits at a step for row b:
// forward t = step, backward t = len−1−step (each sequence's own end).
func (s *BiLSTMState) timeOf(dir, b, step int) int {
	if dir == 0 {
		return step
	}
	return s.lengths[b] - 1 - step
}

// BiLSTMForward runs a bidirectional single-layer LSTM over x (B, W, In)
// exactly as PyTorch's nn.LSTM(bidirectional=True, batch_first=True) over
// a packed sequence: row b uses its first lengths[b] steps only; the
// forward direction runs t = 0..len−1 and the backward direction
// t = len−1..0, both from zero states. Per step, with gates in row order
// i, f, g, o: a = x·Wihᵀ + bih + h·Whhᵀ + bhh; i, f, o = σ(·), g = tanh(·);
// c' = f⊙c + i⊙g; h' = o⊙tanh(c'). out (B, W, 2H) gets [h_fwd ; h_bwd] at
// valid steps and zeros at padded steps. The input projection of all steps
// is one Sgemm per direction; the two directions run concurrently. A length
// outside [0, W] is an error.
func BiLSTMForward(s *BiLSTMState, out, x []float32, lengths []int, fwd, bwd LSTMWeights) error {
	d := s.d
	B, W, In, H := d.Batch, d.Seq, d.In, d.Hidden
	checkLen("BiLSTMForward", "x", x, B*W*In)
	checkLen("BiLSTMForward", "out", out, B*W*2*H)
	d.checkWeights("BiLSTMForward", "fwd", fwd, false)
	d.checkWeights("BiLSTMForward", "bwd", bwd, false)
	if len(lengths) != B {
		return fmt.Errorf("kern.BiLSTMForward: %d lengths for batch %d", len(lengths), B)
	}
	s.maxLen = 0
	for b, n := range lengths {
		if n < 0 || n > W {
			return fmt.Errorf("kern.BiLSTMForward: lengths[%d] = %d outside [0, %d]", b, n, W)
		}
		s.lengths[b] = n
		s.maxLen = max(s.maxLen, n)
		// Stable insertion sort by decreasing length.
		k := b
		for k > 0 && s.lengths[s.order[k-1]] < n {
			s.order[k] = s.order[k-1]
			k--
		}
		s.order[k] = b
	}
	ws := [2]LSTMWeights{fwd, bwd}
	ParallelFor(2, 1, func(lo, hi int) {
		for dir := lo; dir < hi; dir++ {
			s.forwardDir(dir, out, x, ws[dir])
		}
	})
	s.ready = true
	return nil
}

func (s *BiLSTMState) forwardDir(dir int, out, x []float32, w LSTMWeights) {
	d := s.d
	B, W, In, H := d.Batch, d.Seq, d.In, d.Hidden
	H4 := 4 * H
	G := s.gates[dir]
	if B*W > 0 {
		MatMul(x, w.Wih, G, B*W, In, H4, true)
	}
	for b := 0; b < B; b++ {
		for t := 0; t < s.lengths[b]; t++ {
			row := G[(b*W+t)*H4 : (b*W+t+1)*H4]
			for j := range row {
				row[j] += w.Bih[j] + w.Bhh[j]
			}
		}
		for t := s.lengths[b]; t < W; t++ {
			clear(out[(b*W+t)*2*H+dir*H : (b*W+t)*2*H+dir*H+H])
			// The W_hh gradient multiplies every row of hprev by its
			// (zero) gate gradient: padded rows must be finite, not
			// whatever the buffer held before.
			clear(s.hprev[dir][(b*W+t)*H : (b*W+t+1)*H])
		}
	}
	hc, cc, rec := s.h[dir], s.c[dir], s.step[dir]
	clear(hc)
	clear(cc)
	for step := 0; step < s.maxLen; step++ {
		nb := s.active(step)
		Sgemm(false, true, nb, H4, H, 1, hc, H, w.Whh, H, 0, rec, H4)
		for k := 0; k < nb; k++ {
			b := s.order[k]
			bt := b*W + s.timeOf(dir, b, step)
			g := G[bt*H4 : (bt+1)*H4]
			r := rec[k*H4 : (k+1)*H4]
			hk, ck := hc[k*H:(k+1)*H], cc[k*H:(k+1)*H]
			copy(s.hprev[dir][bt*H:(bt+1)*H], hk)
			cell := s.cell[dir][bt*H : (bt+1)*H]
			o := out[bt*2*H+dir*H : bt*2*H+dir*H+H]
			for j := 0; j < H; j++ {
				ig := sigmoid32(g[j] + r[j])
				fg := sigmoid32(g[H+j] + r[H+j])
				gg := float32(math.Tanh(float64(g[2*H+j] + r[2*H+j])))
				og := sigmoid32(g[3*H+j] + r[3*H+j])
				c := fg*ck[j] + ig*gg
				h := og * float32(math.Tanh(float64(c)))
				g[j], g[H+j], g[2*H+j], g[3*H+j] = ig, fg, gg, og
				cell[j], ck[j], hk[j], o[j] = c, c, h, h
			}
		}
	}
}

// BiLSTMBackward back-propagates through time from dout (B, W, 2H) (padded
// steps' gradients are ignored), using the state of the BiLSTMForward call
// on the same x and weights. It OVERWRITES dx (B, W, In; zeros at padded
// steps) and the per-direction gradients gfwd and gbwd (each field summed
// over the batch; db_ih and db_hh are equal). Any of dx or the gradient
// fields may be nil (not needed). Results are identical for any Workers.
func BiLSTMBackward(s *BiLSTMState, dx, dout, x []float32, fwd, bwd LSTMWeights, gfwd, gbwd LSTMWeights) error {
	d := s.d
	B, W, In, H := d.Batch, d.Seq, d.In, d.Hidden
	H4 := 4 * H
	if !s.ready {
		return fmt.Errorf("kern.BiLSTMBackward: state has no forward pass (%v)", d)
	}
	checkLen("BiLSTMBackward", "x", x, B*W*In)
	checkLen("BiLSTMBackward", "dout", dout, B*W*2*H)
	checkOptLen("BiLSTMBackward", "dx", dx, B*W*In)
	d.checkWeights("BiLSTMBackward", "fwd", fwd, false)
	d.checkWeights("BiLSTMBackward", "bwd", bwd, false)
	d.checkWeights("BiLSTMBackward", "gfwd", gfwd, true)
	d.checkWeights("BiLSTMBackward", "gbwd", gbwd, true)
	ws, gs := [2]LSTMWeights{fwd, bwd}, [2]LSTMWeights{gfwd, gbwd}
	ParallelFor(2, 1, func(lo, hi int) {
		for dir := lo; dir < hi; dir++ {
			s.backwardDir(dir, dout, ws[dir])
			s.paramGrads(dir, x, gs[dir])
		}
	})
	if dx != nil {
		if B*W == 0 {
			return nil
		}
		Sgemm(false, false, B*W, In, H4, 1, s.dg[0], H4, fwd.Wih, In, 0, dx, In)
		Sgemm(false, false, B*W, In, H4, 1, s.dg[1], H4, bwd.Wih, In, 1, dx, In)
	}
	return nil
}

func (s *BiLSTMState) backwardDir(dir int, dout []float32, w LSTMWeights) {
	d := s.d
	W, H := d.Seq, d.Hidden
	H4 := 4 * H
	dG := s.dg[dir]
	clear(dG) // padded steps keep zero gradients
	dh, dc, dstep := s.h[dir], s.c[dir], s.step[dir]
	clear(dh)
	clear(dc)
	for step := s.maxLen - 1; step >= 0; step-- {
		nb := s.active(step)
		for k := 0; k < nb; k++ {
			b := s.order[k]
			t := s.timeOf(dir, b, step)
			bt := b*W + t
			var cprev []float32
			if step > 0 {
				pt := t - 1
				if dir == 1 {
					pt = t + 1
				}
				cprev = s.cell[dir][(b*W+pt)*H : (b*W+pt+1)*H]
			}
			a := s.gates[dir][bt*H4 : (bt+1)*H4]
			cell := s.cell[dir][bt*H : (bt+1)*H]
			do := dout[bt*2*H+dir*H : bt*2*H+dir*H+H]
			dhk, dck := dh[k*H:(k+1)*H], dc[k*H:(k+1)*H]
			g := dG[bt*H4 : (bt+1)*H4]
			for j := 0; j < H; j++ {
				ig, fg, gg, og := a[j], a[H+j], a[2*H+j], a[3*H+j]
				hgrad := dhk[j] + do[j]
				tc := float32(math.Tanh(float64(cell[j])))
				cgrad := dck[j] + hgrad*og*(1-tc*tc)
				var cp float32
				if cprev != nil {
					cp = cprev[j]
				}
				g[j] = cgrad * gg * ig * (1 - ig)
				g[H+j] = cgrad * cp * fg * (1 - fg)
				g[2*H+j] = cgrad * ig * (1 - gg*gg)
				g[3*H+j] = hgrad * tc * og * (1 - og)
				dck[j] = cgrad * fg
			}
			copy(dstep[k*H4:(k+1)*H4], g)
		}
		// dh entering this step (sorted rows) = step gate gradients · Whh.
		Sgemm(false, false, nb, H, H4, 1, dstep, H4, w.Whh, H, 0, dh, H)
	}
}

func (s *BiLSTMState) paramGrads(dir int, x []float32, g LSTMWeights) {
	d := s.d
	BW, In, H := d.Batch*d.Seq, d.In, d.Hidden
	H4 := 4 * H
	dG := s.dg[dir]
	if g.Wih != nil {
		Sgemm(true, false, H4, In, BW, 1, dG, H4, x, In, 0, g.Wih, In)
	}
	if g.Whh != nil {
		Sgemm(true, false, H4, H, BW, 1, dG, H4, s.hprev[dir], H, 0, g.Whh, H)
	}
	if g.Bih == nil && g.Bhh == nil {
		return
	}
	for j := 0; j < H4; j++ {
		var sum float64
		for r := 0; r < BW; r++ {
			sum += float64(dG[r*H4+j])
		}
		if g.Bih != nil {
			g.Bih[j] = float32(sum)
		}
		if g.Bhh != nil {
			g.Bhh[j] = float32(sum)
		}
	}
}
