package dist

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
)

// DefaultBucketFloats is the gradient bucket size of GradReducer: 4 Mi
// floats (16 MiB), large enough that the per-call latency of the
// all-reduce is amortised, small enough that the staging buffer stays
// modest.
const DefaultBucketFloats = 1 << 22

// GradReducer sums a training step's gradients and loss over the ranks
// (train.Config.Reducer). It runs after the backward passes of the step's
// micro-batches and before clipping, so the clipping norm is the global
// gradient's: the engine computes a step's gradients in one backward pass
// per micro-batch without per-parameter completion callbacks, so the
// all-reduce cannot overlap the backward pass; it is bucketed (parameters
// packed in store order into buckets of BucketFloats, one all-reduce
// each).
//
// Each rank's gradient is that of its rows of the global batch under the
// loss's sum reduction, so the sum over ranks is the single-process
// gradient (up to the order of float32 additions).
type GradReducer struct {
	Comm Comm
	// BucketFloats is the bucket size in float32 values (0: the default).
	BucketFloats int
	buf          []float32
	flags        []float64
}

// ReduceStep implements train.StepReducer: touched[i] reports whether this
// rank's micro-batches reached trainable[i]; the result reports whether
// any rank's did. Gradients of parameters no rank touched are left alone
// (they are zero).
func (g *GradReducer) ReduceStep(trainable []*autograd.Param, touched []bool, loss float64) ([]bool, float64, error) {
	if len(touched) != len(trainable) {
		return nil, 0, fmt.Errorf("dist: %d touched flags for %d parameters", len(touched), len(trainable))
	}
	// The loss and the touched flags in one all-reduce.
	g.flags = append(g.flags[:0], loss)
	for _, t := range touched {
		f := 0.0
		if t {
			f = 1
		}
		g.flags = append(g.flags, f)
	}
	if err := g.Comm.AllReduceSum64(g.flags); err != nil {
		return nil, 0, fmt.Errorf("dist: reduce the step's loss: %w", err)
	}
	touchedAny := make([]bool, len(trainable))
	var params []*autograd.Param
	for i, p := range trainable {
		if touchedAny[i] = g.flags[i+1] > 0; touchedAny[i] {
			params = append(params, p)
		}
	}
	if err := g.reduce(params); err != nil {
		return nil, 0, err
	}
	return touchedAny, g.flags[0], nil
}

// reduce sums the gradients of params over the ranks, bucket by bucket.
func (g *GradReducer) reduce(params []*autograd.Param) error {
	size := g.BucketFloats
	if size <= 0 {
		size = DefaultBucketFloats
	}
	for i := 0; i < len(params); {
		// A parameter larger than a bucket is reduced in place, alone.
		if p := params[i]; len(p.Grad) >= size {
			if err := g.Comm.AllReduceSum(p.Grad); err != nil {
				return fmt.Errorf("dist: all-reduce the gradient of %s: %w", p.Name, err)
			}
			i++
			continue
		}
		j, n := i, 0
		for j < len(params) && n+len(params[j].Grad) <= size {
			n += len(params[j].Grad)
			j++
		}
		if cap(g.buf) < n {
			g.buf = make([]float32, n)
		}
		buf := g.buf[:0]
		for _, p := range params[i:j] {
			buf = append(buf, p.Grad...)
		}
		if err := g.Comm.AllReduceSum(buf); err != nil {
			return fmt.Errorf("dist: all-reduce the gradients of %s..%s: %w", params[i].Name, params[j-1].Name, err)
		}
		off := 0
		for _, p := range params[i:j] {
			off += copy(p.Grad, buf[off:])
		}
		i = j
	}
	return nil
}

// Fingerprint is a named digest ranks compare before training.
type Fingerprint struct {
	What   string // e.g. "recipe", "training data"
	Digest [32]byte
}

// Digest hashes parts, each length-prefixed.
func Digest(parts ...[]byte) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// WeightsDigest hashes every parameter's name, shape and values (bits).
func WeightsDigest(s *autograd.Store) [32]byte {
	h := sha256.New()
	var b [8]byte
	for _, p := range s.Params() {
		h.Write([]byte(p.Name))
		for _, d := range p.Shape {
			binary.LittleEndian.PutUint64(b[:], uint64(d))
			h.Write(b[:])
		}
		buf := make([]byte, 4*len(p.Data))
		for i, v := range p.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		h.Write(buf)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Agree checks that every rank holds the same fingerprints as rank 0 and
// returns an error naming the first rank and fingerprint that differ, on
// every rank. All ranks must pass the same list of names.
func Agree(c Comm, fps []Fingerprint) error {
	if c.Size() == 1 {
		return nil
	}
	var mine []byte
	for _, f := range fps {
		mine = append(mine, f.Digest[:]...)
	}
	all, err := c.AllGather(mine)
	if err != nil {
		return fmt.Errorf("dist: exchange fingerprints: %w", err)
	}
	for r, theirs := range all {
		if len(theirs) != len(all[0]) {
			return fmt.Errorf("dist: rank %d sent %d fingerprint bytes, rank 0 %d: the ranks run different program versions", r, len(theirs), len(all[0]))
		}
		for i, f := range fps {
			a, b := all[0][32*i:32*i+32], theirs[32*i:32*i+32]
			if string(a) != string(b) {
				return fmt.Errorf("dist: rank %d's %s differs from rank 0's (fingerprint %s, rank 0 %s): every rank must run the same recipe on the same data", r, f.What, hex.EncodeToString(b[:6]), hex.EncodeToString(a[:6]))
			}
		}
	}
	return nil
}
