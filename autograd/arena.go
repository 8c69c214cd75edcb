package autograd

import (
	"fmt"
	"os"
	"slices"
)

// Arena is the activation memory that machines share: one float32 and
// one int64 backend buffer, grown to the largest plan run so far and never
// shrunk. Each compiled plan places its values, its kernels' saved
// buffers and their scratch space at offsets into the arena (values whose
// lifetimes do not overlap share bytes), so a model needs one arena
// whatever the shapes of its batches, not one buffer set per shape.
//
// Machines compiled into one arena take turns: bind inputs and Run one
// machine, read its outputs, then the next. A value read from a machine
// is valid until the next Set or Run of any machine of the same arena.
type Arena struct {
	be     Backend
	f, i   Buffer
	nf, ni int
	// gen counts reallocations; machines rebind their views when it moves.
	gen uint64
	// Poison, a checking aid for tests (CPU backend), overwrites every
	// region with NaN (ints with a huge negative value) as soon as its
	// last reader has run, so a kernel whose Buffers or BackwardReads
	// under-declare what it reads produces NaN instead of silently reading
	// reused memory. NewArena sets it when GLINER_ARENA_POISON=1.
	Poison bool
}

// NewArena returns an empty arena allocating through be.
func NewArena(be Backend) *Arena {
	if be == nil {
		be = CPU
	}
	return &Arena{be: be, Poison: os.Getenv("GLINER_ARENA_POISON") == "1"}
}

// Backend returns the backend the arena allocates from.
func (a *Arena) Backend() Backend { return a.be }

// Bytes is the arena's current size.
func (a *Arena) Bytes() int64 { return int64(a.nf)*4 + int64(a.ni)*8 }

// ensure grows the arena to hold nf floats and ni ints. The old contents
// are not kept: a plan writes every value it reads during its Run.
func (a *Arena) ensure(nf, ni int) error {
	if nf <= a.nf && ni <= a.ni {
		return nil
	}
	if nf > a.nf {
		if a.f != nil {
			if err := a.be.Free(a.f); err != nil {
				return fmt.Errorf("arena: %w", err)
			}
			a.f, a.nf = nil, 0
		}
		b, err := a.be.Alloc(Float32, nf)
		if err != nil {
			return fmt.Errorf("arena: allocating %d float32 values: %w", nf, err)
		}
		a.f, a.nf = b, nf
	}
	if ni > a.ni {
		if a.i != nil {
			if err := a.be.Free(a.i); err != nil {
				return fmt.Errorf("arena: %w", err)
			}
			a.i, a.ni = nil, 0
		}
		b, err := a.be.Alloc(Int64, ni)
		if err != nil {
			return fmt.Errorf("arena: allocating %d int64 values: %w", ni, err)
		}
		a.i, a.ni = b, ni
	}
	a.gen++
	return nil
}

func (a *Arena) buffer(dt DType) Buffer {
	if dt == Int64 {
		return a.i
	}
	return a.f
}

// storage is one region of a plan's arena: n elements of dt, live from
// step first to step last inclusive (-1 is before the first step, the
// number of steps is after the last), placed at off.
type storage struct {
	dt          DType
	n           int
	first, last int
	off         int
}

// arenaAlign keeps every region on a 64-byte boundary (16 float32, 8 int64).
func arenaAlign(dt DType) int {
	if dt == Int64 {
		return 8
	}
	return 16
}

// layout places the storages of one dtype: the largest first, each at the
// lowest offset that no storage live at the same time occupies (greedy
// interval packing). It returns the elements the arena needs.
func layout(sts []*storage, dt DType) int {
	var order []*storage
	for _, s := range sts {
		if s.dt == dt && s.n > 0 {
			order = append(order, s)
		}
	}
	slices.SortStableFunc(order, func(a, b *storage) int { return b.n - a.n })
	al := arenaAlign(dt)
	total := 0
	var placed, live []*storage
	for _, s := range order {
		live = live[:0]
		for _, p := range placed {
			if p.last >= s.first && p.first <= s.last {
				live = append(live, p)
			}
		}
		slices.SortFunc(live, func(a, b *storage) int { return a.off - b.off })
		off := 0
		for _, p := range live {
			if off+s.n <= p.off {
				break
			}
			if end := (p.off + p.n + al - 1) / al * al; end > off {
				off = end
			}
		}
		s.off = off
		total = max(total, off+s.n)
		placed = append(placed, s)
	}
	return total
}
