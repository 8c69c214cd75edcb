package autograd

import (
	"fmt"
	"slices"

	"github.com/gliner-go/gliner/autograd/kern"
)

type biLSTMK struct {
	st      *kern.BiLSTMState
	lengths []int
}

func (k *biLSTMK) Name() string      { return "bilstm" }
func (k *biLSTMK) Attrs() kern.Attrs { return kern.BiLSTMAttrs{} }

// inputs: x (B,W,In), lengths (B) int, then fwd Wih, Whh, Bih, Bhh, bwd Wih, Whh, Bih, Bhh.
func (k *biLSTMK) OutShape(in [][]int) ([]int, error) {
	x := in[0]
	if len(x) != 3 || len(in[1]) != 1 || in[1][0] != x[0] {
		return nil, fmt.Errorf("input %v / lengths %v do not fit (B,W,In) / (B)", x, in[1])
	}
	h := in[3][1]
	for d := 0; d < 2; d++ {
		wih, whh, bih, bhh := in[2+4*d], in[3+4*d], in[4+4*d], in[5+4*d]
		if !slices.Equal(wih, []int{4 * h, x[2]}) || !slices.Equal(whh, []int{4 * h, h}) || !slices.Equal(bih, []int{4 * h}) || !slices.Equal(bhh, []int{4 * h}) {
			return nil, fmt.Errorf("direction %d weights %v %v %v %v do not fit input width %d, hidden %d", d, wih, whh, bih, bhh, x[2], h)
		}
	}
	// The state's large buffers are the plan's (Buffers): they live in the
	// arena, not one set per plan on the heap.
	st, err := kern.NewBiLSTMStateUnallocated(kern.LSTMDims{Batch: x[0], Seq: x[1], In: x[2], Hidden: h})
	if err != nil {
		return nil, err
	}
	k.st = st
	k.lengths = make([]int, x[0])
	return []int{x[0], x[1], 2 * h}, nil
}

// Buffers: the state's saved gates, cells and hidden states, the gate
// gradients and the per-step work rows (kern.BiLSTMState.Buffers). OutShape
// runs first, so the state exists.
func (k *biLSTMK) Buffers([][]int) []KernelBuffer {
	if k.st == nil {
		return nil
	}
	var out []KernelBuffer
	for _, b := range k.st.Buffers() {
		use := Scratch
		switch {
		case b.Saved:
			use = Saved
		case b.BackwardOnly:
			use = BackwardScratch
		}
		out = append(out, KernelBuffer{Buf: b.Buf, Len: b.Len, Use: use})
	}
	return out
}

func weights(in []Value, d int) kern.LSTMWeights {
	return kern.LSTMWeights{Wih: in[2+4*d].F, Whh: in[3+4*d].F, Bih: in[4+4*d].F, Bhh: in[5+4*d].F}
}

func (k *biLSTMK) Forward(in []Value, out Value) error {
	for i, l := range in[1].I {
		k.lengths[i] = int(l)
	}
	return kern.BiLSTMForward(k.st, out.F, in[0].F, k.lengths, weights(in, 0), weights(in, 1))
}

func (k *biLSTMK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	return kern.BiLSTMBackward(k.st, grads[0].F, dout.F, in[0].F, weights(in, 0), weights(in, 1), weights(grads, 0), weights(grads, 1))
}

// BiLSTM runs one bidirectional LSTM layer over x (B,W,In) honouring the
// int lengths (B) like PyTorch's packed sequences → (B,W,2h), zeros past
// each length. w holds the forward then the backward direction's
// W_ih (4h,In), W_hh (4h,h), b_ih (4h), b_hh (4h).
func BiLSTM(x, lengths *Node, w [8]*Node) *Node {
	if !lengths.isInt {
		return x.g.Fail(fmt.Errorf("bilstm: lengths must be an int input"))
	}
	return x.g.Apply(&biLSTMK{}, append([]*Node{x, lengths}, w[:]...)...)
}
