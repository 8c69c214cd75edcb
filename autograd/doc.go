// Package autograd is the one place in gliner-go that knows Gorgonia.
//
// It holds three things:
//
//   - Store: the model's parameters, named by the reference's state-dict
//     keys, with their gradients, a frozen flag settable by name prefix,
//     deterministic iteration order and seeded initialisation.
//   - Graph: a Gorgonia expression graph built for one batch-shape bucket.
//     Parameters are bound into it without copying; batch tensors are bound
//     as inputs before each run. Every operation is a fused Kernel with a
//     hand-written forward and backward (package kern); the backward graph
//     is derived symbolically by Gorgonia (gorgonia.Grad) from each kernel's
//     SymDiff.
//   - Machine: the compiled executor of a Graph. It walks the graph in
//     topological order over buffers allocated once per bucket, so a
//     steady-state training step builds no graph and allocates nothing.
//
// Models build one Graph per shape bucket and cache its Machine.
package autograd
