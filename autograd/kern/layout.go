package kern

import "fmt"

// ConcatLastForward joins xs, each (rows, widths[i]), on the last axis into
// y (rows, Σ widths).
func ConcatLastForward(y []float32, xs [][]float32, widths []int, rows int) {
	w := 0
	for _, c := range widths {
		w += c
	}
	checkLen("ConcatLastForward", "y", y, rows*w)
	off := 0
	for i, x := range xs {
		c := widths[i]
		checkLen("ConcatLastForward", "x", x, rows*c)
		for r := 0; r < rows; r++ {
			copy(y[r*w+off:r*w+off+c], x[r*c:(r+1)*c])
		}
		off += c
	}
}

// ConcatLastBackward OVERWRITES dxs[i] (nil entries skipped) with its
// columns of dy.
func ConcatLastBackward(dxs [][]float32, dy []float32, widths []int, rows int) {
	w := 0
	for _, c := range widths {
		w += c
	}
	checkLen("ConcatLastBackward", "dy", dy, rows*w)
	off := 0
	for i, dx := range dxs {
		c := widths[i]
		if dx != nil {
			checkLen("ConcatLastBackward", "dx", dx, rows*c)
			for r := 0; r < rows; r++ {
				copy(dx[r*c:(r+1)*c], dy[r*w+off:r*w+off+c])
			}
		}
		off += c
	}
}

// ColumnsForward writes y (rows, width) = x[:, off:off+width] for x
// (rows, cols): how GPT-2's c_attn output is split into q, k and v.
func ColumnsForward(y, x []float32, rows, cols, off, width int) {
	checkLen("ColumnsForward", "x", x, rows*cols)
	checkLen("ColumnsForward", "y", y, rows*width)
	for r := 0; r < rows; r++ {
		copy(y[r*width:(r+1)*width], x[r*cols+off:r*cols+off+width])
	}
}

// ColumnsBackward OVERWRITES dx with dy in columns [off, off+width) and
// zeros elsewhere.
func ColumnsBackward(dx, dy []float32, rows, cols, off, width int) {
	checkLen("ColumnsBackward", "dx", dx, rows*cols)
	checkLen("ColumnsBackward", "dy", dy, rows*width)
	clear(dx)
	for r := 0; r < rows; r++ {
		copy(dx[r*cols+off:r*cols+off+width], dy[r*width:(r+1)*width])
	}
}

// AddLeadingRowsForward writes y = x + table[:T] for every (T,D) block of x
// (blocks×T×D); table has at least T rows. Absolute position embeddings,
// and with T = 1 the token-type-0 embedding.
func AddLeadingRowsForward(y, x, table []float32, blocks, T, D int) {
	checkLen("AddLeadingRowsForward", "x", x, blocks*T*D)
	checkLen("AddLeadingRowsForward", "y", y, blocks*T*D)
	if len(table) < T*D {
		panic(fmt.Sprintf("kern.AddLeadingRowsForward: table has %d values, want at least %d", len(table), T*D))
	}
	for b := 0; b < blocks; b++ {
		o := y[b*T*D : (b+1)*T*D]
		xi := x[b*T*D : (b+1)*T*D]
		for i := range o {
			o[i] = xi[i] + table[i]
		}
	}
}

// AddLeadingRowsBackward OVERWRITES dx = dy and dtable (the whole table,
// rows past T zero) = Σ_blocks dy; either may be nil.
func AddLeadingRowsBackward(dx, dtable, dy []float32, blocks, T, D int) {
	checkLen("AddLeadingRowsBackward", "dy", dy, blocks*T*D)
	checkOptLen("AddLeadingRowsBackward", "dx", dx, blocks*T*D)
	if dx != nil {
		copy(dx, dy)
	}
	if dtable != nil {
		clear(dtable)
		for b := 0; b < blocks; b++ {
			d := dy[b*T*D : (b+1)*T*D]
			for i := range d {
				dtable[i] += d[i]
			}
		}
	}
}

// MaskRowsForward writes y = x with the rows (of width D) whose mask is 0
// zeroed.
func MaskRowsForward(y, x []float32, mask []int64, D int) {
	checkLen("MaskRowsForward", "x", x, len(mask)*D)
	checkLen("MaskRowsForward", "y", y, len(mask)*D)
	for r, m := range mask {
		o, xr := y[r*D:(r+1)*D], x[r*D:(r+1)*D]
		if m != 0 {
			copy(o, xr)
		} else {
			clear(o)
		}
	}
}

// MaskRowsBackward OVERWRITES dx = dy with the masked rows zeroed.
func MaskRowsBackward(dx, dy []float32, mask []int64, D int) { MaskRowsForward(dx, dy, mask, D) }

// BroadcastRowsForward writes copies of x (N·D values) one after another
// into y.
func BroadcastRowsForward(y, x []float32, copies int) {
	n := len(x)
	checkLen("BroadcastRowsForward", "y", y, copies*n)
	for i := 0; i < copies; i++ {
		copy(y[i*n:(i+1)*n], x)
	}
}

// BroadcastRowsBackward OVERWRITES dx with the sum of the copies of dy,
// accumulated in float64.
func BroadcastRowsBackward(dx, dy []float32, copies int) {
	n := len(dx)
	checkLen("BroadcastRowsBackward", "dy", dy, copies*n)
	for j := range dx {
		var s float64
		for i := 0; i < copies; i++ {
			s += float64(dy[i*n+j])
		}
		dx[j] = float32(s)
	}
}

// maskedMeanDenom is max(Σ_t m, 1e-9) in float32, as torch's clamp on the
// float sum.
func maskedMeanDenom(m []int64) float32 {
	var s float32
	for _, v := range m {
		s += float32(v)
	}
	if s < 1e-9 {
		return 1e-9
	}
	return s
}

// MaskedMeanForward pools x (N,T,D) over T with the int mask (N,T):
// y[n] = Σ_t m[n,t]·x[n,t] / max(Σ_t m[n,t], 1e-9), the bi-encoder's
// label pooling (urchade/GLiNER c2bb58d gliner/modeling/encoder.py,
// BiEncoder.mean_pooling).
func MaskedMeanForward(y, x []float32, m []int64, N, T, D int) {
	checkLen("MaskedMeanForward", "x", x, N*T*D)
	checkLen("MaskedMeanForward", "y", y, N*D)
	if len(m) != N*T {
		panic(fmt.Sprintf("kern.MaskedMeanForward: len(mask) = %d, want %d", len(m), N*T))
	}
	for n := 0; n < N; n++ {
		o := y[n*D : (n+1)*D]
		clear(o)
		for t := 0; t < T; t++ {
			if mv := float32(m[n*T+t]); mv != 0 {
				for j, v := range x[(n*T+t)*D : (n*T+t+1)*D] {
					o[j] += v * mv
				}
			}
		}
		d := maskedMeanDenom(m[n*T : (n+1)*T])
		for j := range o {
			o[j] /= d
		}
	}
}

// MaskedMeanBackward OVERWRITES dx[n,t] = dy[n]·m[n,t]/denominator.
func MaskedMeanBackward(dx, dy []float32, m []int64, N, T, D int) {
	checkLen("MaskedMeanBackward", "dx", dx, N*T*D)
	checkLen("MaskedMeanBackward", "dy", dy, N*D)
	for n := 0; n < N; n++ {
		d := maskedMeanDenom(m[n*T : (n+1)*T])
		g := dy[n*D : (n+1)*D]
		for t := 0; t < T; t++ {
			mv := float32(m[n*T+t])
			row := dx[(n*T+t)*D : (n*T+t+1)*D]
			for j := range row {
				row[j] = g[j] * mv / d
			}
		}
	}
}

// Slot codes of DecoderInputsForward besides token ids (≥ 0).
const (
	// DecoderSlotZero is a zero vector (left padding of a prefix).
	DecoderSlotZero = -1
	// DecoderSlotSpan is the row's own span vector.
	DecoderSlotSpan = -2
)

// DecoderInputsForward assembles the labels decoder's inputs_embeds
// y (M,T,D): slot (m,t) of slots (M,T) is a token id (its wte row of
// wte (V,D)), DecoderSlotSpan (row m of spans (M,D)) or DecoderSlotZero
// (zeros). It builds the reference's [span_vector, word tokens…] prefix
// (urchade/GLiNER c2bb58d gliner/modeling/base.py,
// UniEncoderSpanDecoderModel.get_raw_decoder_inputs and decode_labels),
// left padding included.
func DecoderInputsForward(y, spans, wte []float32, slots []int64, M, T, D, V int) error {
	checkLen("DecoderInputsForward", "spans", spans, M*D)
	checkLen("DecoderInputsForward", "wte", wte, V*D)
	checkLen("DecoderInputsForward", "y", y, M*T*D)
	if len(slots) != M*T {
		panic(fmt.Sprintf("kern.DecoderInputsForward: len(slots) = %d, want %d", len(slots), M*T))
	}
	for i, s := range slots {
		dst := y[i*D : (i+1)*D]
		switch {
		case s >= 0 && s < int64(V):
			copy(dst, wte[int(s)*D:int(s+1)*D])
		case s == DecoderSlotSpan:
			m := i / T
			copy(dst, spans[m*D:(m+1)*D])
		case s == DecoderSlotZero:
			clear(dst)
		default:
			return fmt.Errorf("decoder inputs: slot (%d,%d) = %d is neither a token id in [0, %d) nor a span/zero slot", i/T, i%T, s, V)
		}
	}
	return nil
}

// DecoderInputsBackward OVERWRITES dspans and dwte (either may be nil)
// with the sums of the dy rows their slots received.
func DecoderInputsBackward(dspans, dwte, dy []float32, slots []int64, M, T, D, V int) {
	checkLen("DecoderInputsBackward", "dy", dy, M*T*D)
	checkOptLen("DecoderInputsBackward", "dspans", dspans, M*D)
	checkOptLen("DecoderInputsBackward", "dwte", dwte, V*D)
	if dspans != nil {
		clear(dspans)
	}
	if dwte != nil {
		clear(dwte)
	}
	for i, s := range slots {
		src := dy[i*D : (i+1)*D]
		var dst []float32
		switch {
		case s >= 0 && dwte != nil:
			dst = dwte[int(s)*D : int(s+1)*D]
		case s == DecoderSlotSpan && dspans != nil:
			m := i / T
			dst = dspans[m*D : (m+1)*D]
		default:
			continue
		}
		for j, v := range src {
			dst[j] += v
		}
	}
}
