//go:build glcuda

package cuda

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
)

// The BiLSTM on the device (kernels/lstm.cu): inputs x (B,W,In), lengths
// (B) int64, then the forward and the backward direction's Wih (4H,In),
// Whh (4H,H), Bih, Bhh (4H); output (B,W,2H). The host loops over all W
// steps (it never reads the lengths: rows past their length are masked on
// the device); per step one cuBLAS product for the recurrence and one gate
// kernel. The kernel value keeps, per direction, the activated gates, the
// cells and the incoming hidden states of every step (the backward's
// inputs), the step state and the gate gradients, and a copy of the
// lengths.

// Per-direction state buffer indices (dir·lstmPerDir + …), then lengths.
const (
	lstmGates = iota
	lstmCell
	lstmHPrev
	lstmDG
	lstmH
	lstmC
	lstmStep
	lstmPerDir
)

const lstmLengths = 2 * lstmPerDir

func (be *Backend) lstmState(k autograd.Kernel, B, W, H int) (*saved, error) {
	bw := B * W
	var sizes []int
	for dir := 0; dir < 2; dir++ {
		sizes = append(sizes, bw*4*H*4, bw*H*4, bw*H*4, bw*4*H*4, B*H*4, B*H*4, B*4*H*4)
	}
	return be.state(k, append(sizes, B*8)...)
}

func (be *Backend) biLSTMForward(k autograd.Kernel, in []autograd.Value, out autograd.Value) error {
	B, W, In := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	H := in[3].Shape[1]
	H4 := 4 * H
	s, err := be.lstmState(k, B, W, H)
	if err != nil {
		return err
	}
	lengths := s.bufs[lstmLengths]
	if B == 0 || W == 0 {
		return nil
	}
	if err := be.d.CopyDevice(lengths, in[1].Dev, B*8); err != nil {
		return err
	}
	if err := be.checked("bilstm length", 0, W+1, func() error {
		return be.d.Launch("gl_lstm_check_lengths", grid(B), threads, lengths, B, W, be.bad)
	}); err != nil {
		return err
	}
	for dir := 0; dir < 2; dir++ {
		buf := func(i int) DevicePtr { return s.bufs[dir*lstmPerDir+i] }
		wih, whh, bih, bhh := in[2+4*dir].Dev, in[3+4*dir].Dev, in[4+4*dir].Dev, in[5+4*dir].Dev
		G, h, c, rec := buf(lstmGates), buf(lstmH), buf(lstmC), buf(lstmStep)
		if err := be.d.Sgemm(false, true, B*W, H4, In, 1, in[0].Dev, In, wih, In, 0, G, H4); err != nil {
			return err
		}
		if err := be.d.Launch("gl_lstm_prep", grid(B*W*H4), threads, G, out.Dev, buf(lstmHPrev), bih, bhh, lengths, B, W, H, dir); err != nil {
			return err
		}
		if err := be.d.Zero(h, B*H*4); err != nil {
			return err
		}
		if err := be.d.Zero(c, B*H*4); err != nil {
			return err
		}
		for step := 0; step < W; step++ {
			if err := be.d.Sgemm(false, true, B, H4, H, 1, h, H, whh, H, 0, rec, H4); err != nil {
				return err
			}
			if err := be.d.Launch("gl_lstm_step_fwd", grid(B*H), threads, G, rec, h, c, buf(lstmHPrev), buf(lstmCell), out.Dev,
				lengths, B, W, H, dir, step); err != nil {
				return err
			}
		}
	}
	return nil
}

func (be *Backend) biLSTMBackward(k autograd.Kernel, in []autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	B, W, In := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	H := in[3].Shape[1]
	H4 := 4 * H
	s := be.saved[k]
	if s == nil || len(s.bufs) <= lstmLengths {
		return fmt.Errorf("backward before forward")
	}
	lengths := s.bufs[lstmLengths]
	BW := B * W
	if BW == 0 {
		return nil
	}
	for dir := 0; dir < 2; dir++ {
		buf := func(i int) DevicePtr { return s.bufs[dir*lstmPerDir+i] }
		whh := in[3+4*dir].Dev
		dG, dh, dc, dstep := buf(lstmDG), buf(lstmH), buf(lstmC), buf(lstmStep)
		for _, z := range []struct {
			p DevicePtr
			n int
		}{{dG, BW * H4 * 4}, {dh, B * H * 4}, {dc, B * H * 4}} {
			if err := be.d.Zero(z.p, z.n); err != nil {
				return err
			}
		}
		for step := W - 1; step >= 0; step-- {
			if err := be.d.Launch("gl_lstm_step_bwd", grid(B*H), threads, dG, dstep, dh, dc, buf(lstmGates), buf(lstmCell),
				dout.Dev, lengths, B, W, H, dir, step); err != nil {
				return err
			}
			if err := be.d.Sgemm(false, false, B, H, H4, 1, dstep, H4, whh, H, 0, dh, H); err != nil {
				return err
			}
		}
		gwih, gwhh, gbih, gbhh := grads[2+4*dir].Dev, grads[3+4*dir].Dev, grads[4+4*dir].Dev, grads[5+4*dir].Dev
		if gwih != 0 {
			if err := be.d.Sgemm(true, false, H4, In, BW, 1, dG, H4, in[0].Dev, In, 0, gwih, In); err != nil {
				return err
			}
		}
		if gwhh != 0 {
			if err := be.d.Sgemm(true, false, H4, H, BW, 1, dG, H4, buf(lstmHPrev), H, 0, gwhh, H); err != nil {
				return err
			}
		}
		if gbih != 0 || gbhh != 0 {
			if err := be.d.Launch("gl_col_sum_f64", grid(H4), threads, gbih, gbhh, dG, BW, H4); err != nil {
				return err
			}
		}
	}
	if dx := grads[0].Dev; dx != 0 {
		if err := be.d.Sgemm(false, false, BW, In, H4, 1, s.bufs[lstmDG], H4, in[2].Dev, In, 0, dx, In); err != nil {
			return err
		}
		return be.d.Sgemm(false, false, BW, In, H4, 1, s.bufs[lstmPerDir+lstmDG], H4, in[6].Dev, In, 1, dx, In)
	}
	return nil
}
