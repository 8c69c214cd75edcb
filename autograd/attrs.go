package autograd

import "github.com/gliner-go/gliner/autograd/kern"

// Attributed is implemented by every kernel the models use: Attrs returns
// the kernel's kern attribute struct (kern.LayerNormAttrs, …), whose type
// names the kernel and whose fields are its static settings. Exporters and
// backends map kernels by that type.
type Attributed interface {
	Attrs() kern.Attrs
}

// AttrsOf returns k's attributes, or nil when k does not declare them.
func AttrsOf(k Kernel) kern.Attrs {
	if a, ok := k.(Attributed); ok {
		return a.Attrs()
	}
	return nil
}

// Kernels returns the kernels applied in g, in the order they were added.
func (g *Graph) Kernels() []Kernel {
	var out []Kernel
	for _, n := range g.eg.AllNodes() {
		if o, ok := n.Op().(*kernelOp); ok {
			out = append(out, o.k)
		}
	}
	return out
}
