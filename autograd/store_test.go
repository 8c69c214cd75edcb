package autograd

import (
	"math"
	"strings"
	"testing"
)

// Initialisation is seeded per parameter name: the same seed gives the
// same values whatever else is registered and in whatever order, and the
// schemes have the reference's statistics.
func TestInitializeIsSeededPerParameter(t *testing.T) {
	build := func(names ...string) *Store {
		s := NewStore()
		for _, n := range names {
			var init Init = Normal{Std: 0.02}
			switch {
			case strings.HasSuffix(n, "linear"):
				init = LinearDefault(256)
			case strings.HasSuffix(n, "norm"):
				init = Const{V: 1}
			}
			if _, err := s.Add(n, []int{200, 256}, init); err != nil {
				t.Fatal(err)
			}
		}
		s.Initialize(7)
		return s
	}
	a := build("w.normal", "w.linear", "w.norm")
	b := build("extra.normal", "w.norm", "w.linear", "w.normal")
	for _, n := range []string{"w.normal", "w.linear", "w.norm"} {
		pa, _ := a.Get(n)
		pb, _ := b.Get(n)
		for i := range pa.Data {
			if pa.Data[i] != pb.Data[i] {
				t.Fatalf("%s[%d] depends on the other parameters: %v vs %v", n, i, pa.Data[i], pb.Data[i])
			}
		}
	}
	alone, _ := build("w.normal").Get("w.normal")
	first, _ := a.Get("w.normal")
	if alone.Data[0] != first.Data[0] {
		t.Fatal("same seed, different values")
	}
	stats := func(x []float32) (mean, std, maxAbs float64) {
		for _, v := range x {
			mean += float64(v)
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		mean /= float64(len(x))
		for _, v := range x {
			std += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(std / float64(len(x))), maxAbs
	}
	n, _ := a.Get("w.normal")
	if m, s, _ := stats(n.Data); math.Abs(m) > 0.001 || math.Abs(s-0.02) > 0.001 {
		t.Fatalf("normal(0, 0.02): mean %.4g std %.4g", m, s)
	}
	l, _ := a.Get("w.linear")
	bound := 1 / math.Sqrt(256)
	if m, s, mx := stats(l.Data); mx > bound || math.Abs(m) > 0.002 || math.Abs(s-bound/math.Sqrt(3)) > 0.002 {
		t.Fatalf("U(±1/sqrt(256)): mean %.4g std %.4g max %.4g", m, s, mx)
	}
	ln, _ := a.Get("w.norm")
	for _, v := range ln.Data {
		if v != 1 {
			t.Fatal("Const{1} not applied")
		}
	}
	if _, err := a.Add("w.norm", []int{3}, nil); err == nil {
		t.Fatal("a duplicate name must be an error")
	}
	if names := a.Names(); names[0] != "w.linear" || names[2] != "w.normal" {
		t.Fatalf("Names not sorted: %v", names)
	}
	if ps := b.Params(); ps[0].Name != "extra.normal" || ps[3].Name != "w.normal" {
		t.Fatal("Params not in registration order")
	}
}
