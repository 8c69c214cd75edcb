// Package autograd is the one place in gliner-go that knows Gorgonia, and
// the engine that runs the models.
//
// What Gorgonia does (gorgonia.org/gorgonia):
//
//   - Graph building: every Graph wraps a Gorgonia ExprGraph. Parameters
//     become Gorgonia tensor nodes bound to the store's data, inputs become
//     placeholder nodes, and each operation is a Gorgonia node whose Op is
//     one of the project's kernels (kernelOp adapts a Kernel to Gorgonia's
//     Op and SDOp interfaces).
//   - Symbolic backward derivation: Compile calls gorgonia.Grad, which
//     walks the graph from the cost and asks each kernelOp's SymDiff for
//     its input gradients (one bwdOp node per input), adding the nodes that
//     sum the gradients of values used more than once.
//   - Ordering: gorgonia.Sort gives the topological order of the forward
//     and backward nodes.
//
// Gorgonia's own tensors, VMs and operations are not used to compute
// anything (its SoftMax/LogSoftMax merging and other defects are pinned by
// package kern's tests).
//
// What the project's own code does:
//
//   - Store: the model's parameters, named by the reference's state-dict
//     keys, with their gradients, a frozen flag settable by name prefix,
//     deterministic iteration order and seeded initialisation.
//   - Kernels: every operation is a Kernel with a hand-written forward and
//     backward over dense float32/int64 values (the maths lives in package
//     kern). Kernels declare the buffers they keep (Buffered: saved
//     activations, scratch) and which forward values their backward reads
//     (BackwardReads).
//   - Plans: Compile (CompileIn) turns the sorted graph into a Machine, a
//     list of kernel calls in execution order together with a region of an
//     Arena for every value, gradient and kernel buffer. Regions are chosen
//     from lifetimes (a value lives from the step that writes it to the last
//     step that reads it, forward activations that a backward reads until
//     that backward), so values whose lifetimes do not overlap share memory.
//   - Arena: the activation memory machines share, one float32 and one
//     int64 buffer, grown to the largest plan run so far and never shrunk.
//     A model keeps one arena for all its plans, so a batch of a new shape
//     costs a plan (graph building, Grad, Sort and layout: milliseconds),
//     not a new set of buffers, and a steady-state step allocates nothing.
//   - Backend: the seam between plans and the hardware. Arena buffers are
//     allocated and freed, inputs copied in and kernels run through one
//     Backend interface (allocate, free, view, copy to and from the host,
//     forward, backward, synchronise, zero). CPU keeps buffers in host
//     memory and runs the kernels' Go bodies; package autograd/cuda is a
//     device backend, package autograd/backendtest a simulated one.
//   - Residency (resident.go): Store.Place puts every parameter's value and
//     gradient in the backend's buffers (on the CPU Param.Data and
//     Param.Grad are those buffers, zero-copy). A Machine over a placed
//     store binds them, uploads only its inputs (Set), accumulates
//     gradients on the backend and downloads only what is read (ReadCost,
//     Value); SyncToHost and SyncFromHost are the explicit copies for
//     checkpoints. A backend that implements KernelChecker refuses, at
//     CompileIn, a plan needing a kernel it lacks.
package autograd
