package onnx

import (
	"fmt"
	"strings"
)

// The batch dimensions of an exported graph. gliner-go builds a graph for
// one batch shape; the exporter builds it twice, for two probe shapes whose
// dynamic dimensions are distinct primes, and writes every dimension as
// static · Π symbolᵉ, checked to reproduce both probes. Such an expression
// becomes a run-time shape computation in the ONNX graph.
type sym int

const (
	symB  sym = iota // batch
	symT             // sub-tokens of a text
	symW             // words of a text
	symC             // classes
	symTL            // sub-tokens of a label (bi-encoders)
	symE             // selected entities (relex)
	symN             // entity pairs (relex)
	symR             // relation classes (relex)
	nsym
)

var symNames = [nsym]string{"B", "T", "W", "C", "TL", "E", "N", "R"}

// probeA and probeB are the two probe shapes: distinct primes, T and TL
// below 64 (the smallest max_position_embeddings of a BERT fixture).
var (
	probeA = [nsym]int{41, 43, 47, 53, 59, 79, 83, 31}
	probeB = [nsym]int{67, 61, 71, 73, 37, 89, 97, 29}
)

type dimExpr struct {
	c int64
	e [nsym]int
}

func (d dimExpr) static() bool { return d.e == [nsym]int{} }

func (d dimExpr) String() string {
	parts := []string{}
	if d.c != 1 || d.static() {
		parts = append(parts, fmt.Sprint(d.c))
	}
	for s, e := range d.e {
		for i := 0; i < e; i++ {
			parts = append(parts, symNames[s])
		}
	}
	return strings.Join(parts, "·")
}

func (d dimExpr) eval(p [nsym]int) int64 {
	v := d.c
	for s, e := range d.e {
		for i := 0; i < e; i++ {
			v *= int64(p[s])
		}
	}
	return v
}

// derive writes a dimension seen as a under probeA and b under probeB as
// an expression, or reports that no expression fits both.
func derive(a, b int) (dimExpr, error) {
	d := dimExpr{c: int64(a)}
	for s := sym(0); s < nsym; s++ {
		p := int64(probeA[s])
		for d.c%p == 0 && d.c > 0 {
			d.c /= p
			d.e[s]++
		}
	}
	if d.eval(probeB) != int64(b) {
		return d, fmt.Errorf("dimension %d (probe A) / %d (probe B) is not a product of the batch dimensions and a constant", a, b)
	}
	return d, nil
}

func deriveShape(a, b []int) ([]dimExpr, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("shapes %v and %v of the two probe graphs differ in rank", a, b)
	}
	out := make([]dimExpr, len(a))
	for i := range a {
		d, err := derive(a[i], b[i])
		if err != nil {
			return nil, fmt.Errorf("shape %v / %v: %w", a, b, err)
		}
		out[i] = d
	}
	return out, nil
}

// dimTensor is a 1-D int64 tensor [d] computed at run time.
func (x *exporter) dimTensor(d dimExpr) (string, error) {
	key := d.String()
	if n, ok := x.dimCache[key]; ok {
		return n, nil
	}
	var cur string
	for s, e := range d.e {
		for i := 0; i < e; i++ {
			v := x.symVal[s]
			if v == "" {
				return "", fmt.Errorf("dimension %s: the exported graph has no %s", key, symNames[s])
			}
			if cur == "" {
				cur = v
			} else {
				cur = x.b.op("Mul", []string{cur, v})
			}
		}
	}
	switch {
	case cur == "":
		cur = x.b.i64(d.c)
	case d.c != 1:
		cur = x.b.op("Mul", []string{cur, x.b.i64(d.c)})
	}
	x.dimCache[key] = cur
	return cur, nil
}

// shapeTensor is a 1-D int64 shape computed at run time.
func (x *exporter) shapeTensor(ds []dimExpr) (string, error) {
	allStatic := true
	for _, d := range ds {
		allStatic = allStatic && d.static()
	}
	if allStatic {
		v := make([]int64, len(ds))
		for i, d := range ds {
			v[i] = d.c
		}
		return x.b.i64(v...), nil
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		var err error
		if parts[i], err = x.dimTensor(d); err != nil {
			return "", err
		}
	}
	return x.b.op("Concat", parts, aInt("axis", 0)), nil
}

func staticShape(s []int) []dimExpr {
	out := make([]dimExpr, len(s))
	for i, v := range s {
		out[i] = dimExpr{c: int64(v)}
	}
	return out
}
