package train

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// The optimizer's work on a store placed on a device backend
// (autograd.Store.Place): AdamW, the gradient norm and clipping run as
// kernels of the store's backend on the device-resident parameters,
// gradients and moments, so a step's only host traffic is its batch in and
// its loss and gradient norm out. Each kernel's Go body is the CPU code
// path's own arithmetic (adamWUpdate.apply, GradNorm, ClipGradNorm), so a
// backend that runs the Go bodies (the CPU, the simulated device of
// autograd/backendtest) computes the same bits; the CUDA backend runs its
// device versions (kernels/optim.cu).

// adamWK is one parameter's AdamW update: in = weight, gradient, m, v; out
// is the weight (updated in place with m and v).
type adamWK struct{ u adamWUpdate }

func (k adamWK) Name() string { return "adamw" }
func (k adamWK) Attrs() kern.Attrs {
	u := k.u
	return kern.AdamWAttrs{Decay: u.decay, Beta1: u.b1, OneMinusBeta1: u.omb1, Beta2: u.b2, OneMinusBeta2: u.omb2,
		Eps: u.eps, NegStep: u.negStep, BiasCorr2Sqrt: u.bc2Sqrt}
}
func (adamWK) OutShape(in [][]int) ([]int, error) { return in[0], nil }
func (k adamWK) Forward(in []autograd.Value, _ autograd.Value) error {
	w, gr, m, v := in[0].F, in[1].F, in[2].F, in[3].F
	if len(gr) != len(w) || len(m) != len(w) || len(v) != len(w) {
		return fmt.Errorf("adamw: weight %d, gradient %d, moments %d and %d elements", len(w), len(gr), len(m), len(v))
	}
	kern.ParallelFor(len(w), adamWGrain, func(lo, hi int) {
		k.u.apply(w[lo:hi], gr[lo:hi], m[lo:hi], v[lo:hi])
	})
	return nil
}
func (adamWK) Backward([]autograd.Value, autograd.Value, autograd.Value, []autograd.Value) error {
	return fmt.Errorf("adamw has no backward")
}

// gradNormK is GradNorm over its inputs into a scalar output.
type gradNormK struct{}

func (gradNormK) Name() string                    { return "grad_norm" }
func (gradNormK) Attrs() kern.Attrs               { return kern.GradNormAttrs{} }
func (gradNormK) OutShape([][]int) ([]int, error) { return []int{}, nil }
func (gradNormK) Forward(in []autograd.Value, out autograd.Value) error {
	var total float64
	for _, g := range in {
		var s float64
		for _, x := range g.F {
			s += float64(x) * float64(x)
		}
		n := float64(float32(math.Sqrt(s)))
		total += n * n
	}
	out.F[0] = float32(math.Sqrt(total))
	return nil
}
func (gradNormK) Backward([]autograd.Value, autograd.Value, autograd.Value, []autograd.Value) error {
	return fmt.Errorf("grad_norm has no backward")
}

// scaleK multiplies its input in place by c (ClipGradNorm's update).
type scaleK struct{ c float32 }

func (scaleK) Name() string                       { return "scale" }
func (k scaleK) Attrs() kern.Attrs                { return kern.ScaleAttrs{C: k.c} }
func (scaleK) OutShape(in [][]int) ([]int, error) { return in[0], nil }
func (k scaleK) Forward(in []autograd.Value, _ autograd.Value) error {
	g := in[0].F
	for i := range g {
		g[i] = float32(g[i] * k.c)
	}
	return nil
}
func (scaleK) Backward([]autograd.Value, autograd.Value, autograd.Value, []autograd.Value) error {
	return fmt.Errorf("scale has no backward")
}

// deviceOptim is the optimizer's device state: the scalar the gradient
// norm is written to and AdamW's moments per parameter.
type deviceOptim struct {
	store *autograd.Store
	be    autograd.Backend
	norm  autograd.Buffer
	moms  map[*autograd.Param]*deviceMoments
}

type deviceMoments struct{ m, v autograd.Buffer }

func newDeviceOptim(store *autograd.Store) (*deviceOptim, error) {
	be := store.Backend()
	nb, err := be.Alloc(autograd.Float32, 1)
	if err != nil {
		return nil, fmt.Errorf("gradient norm buffer on %s: %w", be.Name(), err)
	}
	return &deviceOptim{store: store, be: be, norm: nb, moms: map[*autograd.Param]*deviceMoments{}}, nil
}

func (d *deviceOptim) grads(params []*autograd.Param) ([]autograd.Value, error) {
	out := make([]autograd.Value, len(params))
	for i, p := range params {
		v, err := d.store.GradValue(p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// gradNorm is GradNorm on the device; the norm (4 bytes) is the one value
// it downloads.
func (d *deviceOptim) gradNorm(params []*autograd.Param) (float32, error) {
	gs, err := d.grads(params)
	if err != nil {
		return 0, err
	}
	out, err := d.be.View(d.norm, 0, []int{})
	if err != nil {
		return 0, err
	}
	if err := d.be.Forward(gradNormK{}, gs, out); err != nil {
		return 0, fmt.Errorf("gradient norm on %s: %w", d.be.Name(), err)
	}
	host := autograd.Value{Shape: []int{}, F: make([]float32, 1)}
	if err := d.be.CopyToHost(host, d.norm, 0); err != nil {
		return 0, err
	}
	if err := d.be.Synchronize(); err != nil {
		return 0, err
	}
	return host.F[0], nil
}

// clipGradNorm is ClipGradNorm on the device.
func (d *deviceOptim) clipGradNorm(params []*autograd.Param, maxNorm float64) (float32, error) {
	total, err := d.gradNorm(params)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(total)) || math.IsInf(float64(total), 0) {
		return total, nil
	}
	coef := float32(1/float32(total+float32(1e-6))) * float32(maxNorm)
	if coef < 1 {
		gs, err := d.grads(params)
		if err != nil {
			return 0, err
		}
		k := scaleK{c: coef}
		for i, g := range gs {
			if err := d.be.Forward(k, []autograd.Value{g}, g); err != nil {
				return 0, fmt.Errorf("clipping the gradient of %q on %s: %w", params[i].Name, d.be.Name(), err)
			}
		}
	}
	return total, nil
}

// moments returns p's device moments, allocating zeroed ones (or
// uploading a resumed state's) on first use.
func (d *deviceOptim) moments(p *autograd.Param, st *ParamState) (*deviceMoments, error) {
	if dm := d.moms[p]; dm != nil {
		return dm, nil
	}
	n := len(p.Data)
	m, err := d.be.Alloc(autograd.Float32, n)
	if err != nil {
		return nil, err
	}
	v, err := d.be.Alloc(autograd.Float32, n)
	if err != nil {
		return nil, err
	}
	dm := &deviceMoments{m: m, v: v}
	if st.ExpAvg != nil {
		// A resumed state: upload it once.
		if err := d.be.CopyFromHost(m, 0, autograd.Value{Shape: p.Shape, F: st.ExpAvg}); err != nil {
			return nil, err
		}
		if err := d.be.CopyFromHost(v, 0, autograd.Value{Shape: p.Shape, F: st.ExpAvgSq}); err != nil {
			return nil, err
		}
	}
	d.moms[p] = dm
	return dm, nil
}

// step is one parameter's AdamW update on the device.
func (d *deviceOptim) step(p *autograd.Param, st *ParamState, u adamWUpdate) error {
	dm, err := d.moments(p, st)
	if err != nil {
		return err
	}
	w, err := d.store.DataValue(p)
	if err != nil {
		return err
	}
	g, err := d.store.GradValue(p)
	if err != nil {
		return err
	}
	m, err := d.be.View(dm.m, 0, p.Shape)
	if err != nil {
		return err
	}
	v, err := d.be.View(dm.v, 0, p.Shape)
	if err != nil {
		return err
	}
	if err := d.be.Forward(adamWK{u: u}, []autograd.Value{w, g, m, v}, w); err != nil {
		return fmt.Errorf("adamw step of %q on %s: %w", p.Name, d.be.Name(), err)
	}
	return nil
}

// syncToHost downloads every moment into its ParamState (checkpoint save).
func (d *deviceOptim) syncToHost(o *AdamW) error {
	for p, dm := range d.moms {
		st := o.state[p]
		if st == nil {
			continue
		}
		if len(st.ExpAvg) != len(p.Data) {
			st.ExpAvg, st.ExpAvgSq = make([]float32, len(p.Data)), make([]float32, len(p.Data))
		}
		if err := d.be.CopyToHost(autograd.Value{Shape: p.Shape, F: st.ExpAvg}, dm.m, 0); err != nil {
			return fmt.Errorf("downloading the moments of %q: %w", p.Name, err)
		}
		if err := d.be.CopyToHost(autograd.Value{Shape: p.Shape, F: st.ExpAvgSq}, dm.v, 0); err != nil {
			return fmt.Errorf("downloading the moments of %q: %w", p.Name, err)
		}
	}
	return d.be.Synchronize()
}

// reset drops the device moments (a checkpoint load replaced the host
// state; moments re-upload from it on the next step).
func (d *deviceOptim) reset() error {
	for p, dm := range d.moms {
		if err := d.be.Free(dm.m); err != nil {
			return err
		}
		if err := d.be.Free(dm.v); err != nil {
			return err
		}
		delete(d.moms, p)
	}
	return nil
}
