package autograd

import (
	"fmt"
	"math"
)

// GradCheck compares the analytic gradients a compiled machine puts into
// params against central finite differences of its cost, computed in
// float64 from float32 perturbations of size eps. It returns an error
// naming the first parameter element whose gradients differ by more than
// tol·max(1, |numeric|). It is exported so every package's op tests can
// use it.
func GradCheck(m *Machine, params []*Param, eps, tol float64) error {
	store := m.g.store
	store.ZeroGrad()
	if err := m.Run(); err != nil {
		return err
	}
	analytic := make([][]float32, len(params))
	for i, p := range params {
		analytic[i] = append([]float32(nil), p.Grad...)
	}
	for pi, p := range params {
		for j := range p.Data {
			orig := p.Data[j]
			p.Data[j] = orig + float32(eps)
			if err := m.Run(); err != nil {
				return err
			}
			up := float64(m.Cost())
			p.Data[j] = orig - float32(eps)
			if err := m.Run(); err != nil {
				return err
			}
			down := float64(m.Cost())
			p.Data[j] = orig
			h := float64(orig+float32(eps)) - float64(orig-float32(eps))
			num := (up - down) / h
			got := float64(analytic[pi][j])
			if d := math.Abs(got - num); d > tol*math.Max(1, math.Abs(num)) {
				return fmt.Errorf("gradient of %s[%d]: analytic %.6g, numeric %.6g", p.Name, j, got, num)
			}
		}
	}
	store.ZeroGrad()
	return nil
}
