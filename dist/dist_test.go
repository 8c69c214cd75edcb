package dist

import (
	"strings"
	"sync"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

// group is an in-process job of n ranks for tests: each collective waits
// for every rank, then hands each the combined result.
type group struct {
	n       int
	mu      sync.Mutex
	cond    *sync.Cond
	gen     int
	arrived int
	f32     [][]float32
	f64     [][]float64
	bytes   [][]byte
	calls   int // all-reduce calls of float32 buffers (per rank)
}

type member struct {
	g    *group
	rank int
}

func newGroup(n int) []*member {
	g := &group{n: n, f32: make([][]float32, n), f64: make([][]float64, n), bytes: make([][]byte, n)}
	g.cond = sync.NewCond(&g.mu)
	out := make([]*member, n)
	for i := range out {
		out[i] = &member{g: g, rank: i}
	}
	return out
}

// sync deposits this rank's part with put, waits for all ranks, reads the
// result with get, and waits again so the slots can be reused.
func (m *member) sync(put, get func()) {
	g := m.g
	g.mu.Lock()
	defer g.mu.Unlock()
	put()
	m.wait()
	get()
	m.wait()
}

func (m *member) wait() {
	g := m.g
	gen := g.gen
	g.arrived++
	if g.arrived == g.n {
		g.arrived, g.gen = 0, g.gen+1
		g.cond.Broadcast()
		return
	}
	for gen == g.gen {
		g.cond.Wait()
	}
}

func (m *member) Rank() int { return m.rank }
func (m *member) Size() int { return m.g.n }
func (m *member) AllReduceSum(buf []float32) error {
	m.sync(func() {
		m.g.f32[m.rank] = append([]float32(nil), buf...)
		if m.rank == 0 {
			m.g.calls++
		}
	}, func() {
		for i := range buf {
			var s float32
			for r := 0; r < m.g.n; r++ {
				s += m.g.f32[r][i]
			}
			buf[i] = s
		}
	})
	return nil
}
func (m *member) AllReduceSum64(buf []float64) error {
	m.sync(func() { m.g.f64[m.rank] = append([]float64(nil), buf...) }, func() {
		for i := range buf {
			var s float64
			for r := 0; r < m.g.n; r++ {
				s += m.g.f64[r][i]
			}
			buf[i] = s
		}
	})
	return nil
}
func (m *member) AllGather(b []byte) ([][]byte, error) {
	var out [][]byte
	m.sync(func() { m.g.bytes[m.rank] = append([]byte(nil), b...) }, func() {
		for r := 0; r < m.g.n; r++ {
			out = append(out, append([]byte(nil), m.g.bytes[r]...))
		}
	})
	return out, nil
}
func (m *member) Barrier() error { m.sync(func() {}, func() {}); return nil }
func (m *member) Abort(int)      {}
func (m *member) Close() error   { return nil }

func runAll(t *testing.T, ms []*member, f func(m *member) error) []error {
	t.Helper()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(m) }()
	}
	wg.Wait()
	return errs
}

func TestShard(t *testing.T) {
	for _, c := range []struct{ n, size int }{{8, 2}, {7, 2}, {3, 4}, {10, 3}, {0, 2}, {5, 1}} {
		next := 0
		for r := 0; r < c.size; r++ {
			lo, hi := Shard(c.n, r, c.size)
			if lo != next || hi < lo || hi-lo > c.n/c.size+1 || hi-lo < c.n/c.size {
				t.Fatalf("Shard(%d, %d, %d) = [%d,%d), previous end %d", c.n, r, c.size, lo, hi, next)
			}
			next = hi
		}
		if next != c.n {
			t.Fatalf("Shard(%d, ·, %d) covers %d items", c.n, c.size, next)
		}
	}
	if lo, hi := Shard(8, 1, 2); lo != 4 || hi != 8 {
		t.Fatalf("Shard(8,1,2) = [%d,%d), want [4,8)", lo, hi)
	}
}

func params(rank int, sizes []int) []*autograd.Param {
	var ps []*autograd.Param
	for i, n := range sizes {
		p := &autograd.Param{Name: string(rune('a' + i)), Shape: []int{n}, Data: make([]float32, n), Grad: make([]float32, n)}
		for j := range p.Grad {
			p.Grad[j] = float32((rank+1)*100 + i*10 + j)
		}
		ps = append(ps, p)
	}
	return ps
}

// TestGradReducer: the gradients every rank ends with are the sums of the
// ranks' gradients, bucket boundaries included (a bucket of 5 floats over
// parameters of 3, 2, 4, 7 and 1 values: [a b] [c] [d alone] [e]); the
// loss is summed and a parameter touched by one rank only counts as
// touched everywhere.
func TestGradReducer(t *testing.T) {
	sizes := []int{3, 2, 4, 7, 1}
	ms := newGroup(2)
	got := make([][]*autograd.Param, 2)
	flags := make([][]bool, 2)
	losses := make([]float64, 2)
	errs := runAll(t, ms, func(m *member) error {
		ps := params(m.rank, sizes)
		got[m.rank] = ps
		touched := []bool{true, true, m.rank == 1, true, false}
		if m.rank == 0 {
			clear(ps[2].Grad) // untouched on rank 0: zero
		}
		var err error
		flags[m.rank], losses[m.rank], err = (&GradReducer{Comm: m, BucketFloats: 5}).ReduceStep(ps, touched, float64(m.rank)+1.5)
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want0, want1 := params(0, sizes), params(1, sizes)
	clear(want0[2].Grad)
	for r := 0; r < 2; r++ {
		if losses[r] != 4 {
			t.Fatalf("rank %d loss %v, want 4", r, losses[r])
		}
		if f := flags[r]; !f[0] || !f[1] || !f[2] || !f[3] || f[4] {
			t.Fatalf("rank %d touched %v, want [true true true true false]", r, f)
		}
		for i, p := range got[r] {
			for j, g := range p.Grad {
				want := want0[i].Grad[j] + want1[i].Grad[j]
				if i == 4 {
					want = want1[i].Grad[j] // untouched everywhere: left alone
					if r == 0 {
						want = want0[i].Grad[j]
					}
				}
				if g != want {
					t.Fatalf("rank %d %s[%d] = %v, want %v", r, p.Name, j, g, want)
				}
			}
		}
	}
	if c := ms[0].g.calls; c != 3 {
		t.Fatalf("%d float32 all-reduces, want 3 ([a b], [c], [d]; e untouched)", c)
	}
}

func TestAgree(t *testing.T) {
	ms := newGroup(3)
	errs := runAll(t, ms, func(m *member) error {
		data := "same"
		if m.rank == 2 {
			data = "other"
		}
		return Agree(m, []Fingerprint{{What: "recipe", Digest: Digest([]byte("r"))}, {What: "training data", Digest: Digest([]byte(data))}})
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "rank 2's training data differs from rank 0's") {
			t.Fatalf("rank %d: %v, want rank 2's training data named", r, err)
		}
	}
	errs = runAll(t, ms, func(m *member) error {
		return Agree(m, []Fingerprint{{What: "recipe", Digest: Digest([]byte("r"))}})
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if Digest([]byte("ab"), []byte("c")) == Digest([]byte("a"), []byte("bc")) {
		t.Fatal("Digest does not separate its parts")
	}
}

func TestSingle(t *testing.T) {
	c, err := Init()
	if err != nil || c.Size() != 1 || c.Rank() != 0 || Label(c) != "" {
		t.Fatalf("Init outside mpirun = %v, %v", c, err)
	}
	buf := []float32{1, 2}
	if err := c.AllReduceSum(buf); err != nil || buf[0] != 1 || buf[1] != 2 {
		t.Fatalf("Single all-reduce changed %v (%v)", buf, err)
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	if !Enabled {
		if _, err := Init(); err == nil || !strings.Contains(err.Error(), "-tags mpi") {
			t.Fatalf("Init under a 2-process launcher without MPI: %v, want an error naming -tags mpi", err)
		}
	}
}
