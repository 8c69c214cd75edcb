package autograd

import "fmt"

// Residency: where a store's parameters and gradients live.
//
// A store starts on the CPU backend, where Param.Data and Param.Grad are
// the backend's memory (zero-copy) and every machine, the optimizer and
// the checkpoints read and write them in place. Place moves a store to
// another backend: every parameter's value and gradient then lives in a
// buffer of that backend, machines compiled over the store bind those
// buffers, gradients accumulate there, and the optimizer updates them
// there. Param.Data and Param.Grad are then host copies that are current
// only after SyncToHost (checkpoint save, export) and that reach the
// device only through SyncFromHost (checkpoint load). No per-step host
// traffic involves the parameters.

// IsHost reports whether be keeps buffers in host memory that values
// address through Value.F and Value.I (the CPU backend).
func IsHost(be Backend) bool { return be == nil || be == CPU }

// Backend returns the backend holding the store's parameters (CPU unless
// Place moved them).
func (s *Store) Backend() Backend {
	if s.be == nil {
		return CPU
	}
	return s.be
}

// Place moves the store's parameters and gradients to be: on a device
// backend each parameter gets a value buffer (uploaded from Param.Data)
// and a zeroed gradient buffer; back to the CPU, values are downloaded
// into Param.Data and the device buffers freed. Placing on the current
// backend does nothing.
func (s *Store) Place(be Backend) error {
	if be == nil {
		be = CPU
	}
	if be == s.Backend() {
		return nil
	}
	if !IsHost(s.Backend()) {
		if err := s.SyncToHost(); err != nil {
			return err
		}
		if err := s.freeDevice(); err != nil {
			return err
		}
	}
	s.be = be
	if IsHost(be) {
		s.be = nil
		for _, p := range s.params {
			clear(p.Grad)
		}
		return nil
	}
	for _, p := range s.params {
		if err := s.placeParam(p); err != nil {
			_ = s.freeDevice()
			s.be = nil
			return fmt.Errorf("store: placing %q on %s: %w", p.Name, be.Name(), err)
		}
	}
	return nil
}

// placeParam gives p its buffers on a device store.
func (s *Store) placeParam(p *Param) error {
	be := s.Backend()
	if IsHost(be) {
		return nil
	}
	d, err := be.Alloc(Float32, len(p.Data))
	if err != nil {
		return err
	}
	g, err := be.Alloc(Float32, len(p.Data))
	if err != nil {
		_ = be.Free(d)
		return err
	}
	p.dev = &paramBufs{data: d, grad: g}
	if err := be.CopyFromHost(d, 0, Value{Shape: p.Shape, F: p.Data}); err != nil {
		return err
	}
	return nil
}

func (s *Store) freeDevice() error {
	be := s.Backend()
	for _, p := range s.params {
		if p.dev == nil {
			continue
		}
		for _, b := range []Buffer{p.dev.data, p.dev.grad} {
			if b != nil {
				if err := be.Free(b); err != nil {
					return fmt.Errorf("store: freeing %q on %s: %w", p.Name, be.Name(), err)
				}
			}
		}
		p.dev = nil
	}
	return nil
}

// SyncToHost copies every parameter's device value into Param.Data (an
// explicit download: checkpoint save, export, host-side evaluation). On
// the CPU it does nothing.
func (s *Store) SyncToHost() error {
	be := s.Backend()
	if IsHost(be) {
		return nil
	}
	for _, p := range s.params {
		if err := be.CopyToHost(Value{Shape: p.Shape, F: p.Data}, p.dev.data, 0); err != nil {
			return fmt.Errorf("store: downloading %q from %s: %w", p.Name, be.Name(), err)
		}
	}
	return be.Synchronize()
}

// SyncGradsToHost copies every device gradient into Param.Grad (error
// reports, data-parallel reduction). On the CPU it does nothing.
func (s *Store) SyncGradsToHost() error {
	be := s.Backend()
	if IsHost(be) {
		return nil
	}
	for _, p := range s.params {
		if err := be.CopyToHost(Value{Shape: p.Shape, F: p.Grad}, p.dev.grad, 0); err != nil {
			return fmt.Errorf("store: downloading the gradient of %q from %s: %w", p.Name, be.Name(), err)
		}
	}
	return be.Synchronize()
}

// SyncFromHost copies every Param.Data into its device value (an explicit
// upload after the host copies changed: checkpoint load, initialisation).
// On the CPU it does nothing.
func (s *Store) SyncFromHost() error {
	be := s.Backend()
	if IsHost(be) {
		return nil
	}
	for _, p := range s.params {
		if err := be.CopyFromHost(p.dev.data, 0, Value{Shape: p.Shape, F: p.Data}); err != nil {
			return fmt.Errorf("store: uploading %q to %s: %w", p.Name, be.Name(), err)
		}
	}
	return nil
}

// ZeroGrads zeroes every gradient where it lives: Param.Grad on the CPU
// (ZeroGrad), the gradient buffers on a device, with no host traffic.
func (s *Store) ZeroGrads() error {
	be := s.Backend()
	if IsHost(be) {
		s.ZeroGrad()
		return nil
	}
	for _, p := range s.params {
		if err := be.Zero(p.dev.grad, 0, len(p.Data)); err != nil {
			return fmt.Errorf("store: zeroing the gradient of %q on %s: %w", p.Name, be.Name(), err)
		}
	}
	return nil
}

// DataValue is p's value in the store's backend: Param.Data on the CPU, a
// view of its device buffer elsewhere.
func (s *Store) DataValue(p *Param) (Value, error) {
	if p.dev == nil {
		return Value{Shape: cloneShape(p.Shape), F: p.Data}, nil
	}
	return s.Backend().View(p.dev.data, 0, p.Shape)
}

// GradValue is p's gradient in the store's backend (see DataValue).
func (s *Store) GradValue(p *Param) (Value, error) {
	if p.dev == nil {
		return Value{Shape: cloneShape(p.Shape), F: p.Grad}, nil
	}
	return s.Backend().View(p.dev.grad, 0, p.Shape)
}
