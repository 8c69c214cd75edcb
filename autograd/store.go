package autograd

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Param is one named parameter: its value, its gradient (same shape) and
// whether training may change it.
type Param struct {
	// Name is the reference's state-dict key, e.g.
	// "span_rep_layer.span_rep_layer.project_start.0.weight".
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
	// Frozen parameters get no gradient and no optimizer state.
	Frozen bool
	// Init draws the parameter's initial values (see Store.Initialize).
	Init Init
	// dev holds the value and gradient in the store's backend when that
	// is not the CPU (Store.Place); nil on the CPU, where Data and Grad
	// are the backend's memory.
	dev *paramBufs
}

// paramBufs are a parameter's value and gradient in a device backend.
type paramBufs struct{ data, grad Buffer }

// Numel is the parameter's element count.
func (p *Param) Numel() int { return len(p.Data) }

// Store holds a model's parameters by name in registration order.
type Store struct {
	params []*Param
	byName map[string]*Param
	// be is the backend holding the values and gradients (nil: CPU).
	be Backend
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byName: map[string]*Param{}} }

// Add registers a parameter. Its values are zero until Initialize or a
// checkpoint fills them. Registering a name twice is an error.
func (s *Store) Add(name string, shape []int, init Init) (*Param, error) {
	if name == "" {
		return nil, fmt.Errorf("store: empty parameter name")
	}
	if _, dup := s.byName[name]; dup {
		return nil, fmt.Errorf("store: parameter %q registered twice", name)
	}
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("store: parameter %q: bad shape %v", name, shape)
		}
	}
	n := Numel(shape)
	p := &Param{Name: name, Shape: cloneShape(shape), Data: make([]float32, n), Grad: make([]float32, n), Init: init}
	if err := s.placeParam(p); err != nil {
		return nil, fmt.Errorf("store: parameter %q: %w", name, err)
	}
	s.params = append(s.params, p)
	s.byName[name] = p
	return p, nil
}

// Get returns the parameter of that name.
func (s *Store) Get(name string) (*Param, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// Params returns the parameters in registration order (deterministic).
func (s *Store) Params() []*Param { return s.params }

// Names returns the parameter names sorted.
func (s *Store) Names() []string {
	names := make([]string, 0, len(s.params))
	for _, p := range s.params {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// Shapes maps every parameter name to its shape.
func (s *Store) Shapes() map[string][]int {
	m := make(map[string][]int, len(s.params))
	for _, p := range s.params {
		m[p.Name] = p.Shape
	}
	return m
}

// NumParams is the total number of scalar parameters.
func (s *Store) NumParams() int {
	n := 0
	for _, p := range s.params {
		n += len(p.Data)
	}
	return n
}

// SetFrozen sets the frozen flag of every parameter whose name starts with
// prefix and returns how many matched. A prefix that matches nothing is an
// error, so a typo in a recipe's freeze list cannot pass unnoticed.
func (s *Store) SetFrozen(prefix string, frozen bool) (int, error) {
	n := 0
	for _, p := range s.params {
		if strings.HasPrefix(p.Name, prefix) {
			p.Frozen = frozen
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("store: freeze prefix %q matches no parameter", prefix)
	}
	return n, nil
}

// ZeroGrad zeroes every gradient on the CPU. A store placed on a device
// backend zeroes its device gradients with ZeroDeviceGrad instead; there
// ZeroGrad clears only the host copies.
func (s *Store) ZeroGrad() {
	for _, p := range s.params {
		clear(p.Grad)
	}
}

// Initialize draws every parameter from its Init. Each parameter gets its
// own random stream derived from seed and its name, so adding or removing a
// parameter does not change how the others are drawn.
func (s *Store) Initialize(seed uint64) {
	for _, p := range s.params {
		if p.Init == nil {
			clear(p.Data)
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(p.Name))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		p.Init.Fill(p.Data, p.Shape, rng)
	}
}

// Init fills a freshly registered parameter.
type Init interface {
	Fill(data []float32, shape []int, rng *rand.Rand)
}

// Normal draws N(0, Std²): the Hugging Face transformers scheme for Linear
// and Embedding weights (Std = initializer_range, 0.02).
type Normal struct{ Std float64 }

// Fill implements Init.
func (n Normal) Fill(data []float32, _ []int, rng *rand.Rand) {
	for i := range data {
		data[i] = float32(rng.NormFloat64() * n.Std)
	}
}

// Uniform draws U(-Bound, Bound): PyTorch's default for nn.Linear
// (Bound = 1/sqrt(fan_in), weight and bias alike) and nn.LSTM
// (Bound = 1/sqrt(hidden_size)).
type Uniform struct{ Bound float64 }

// Fill implements Init.
func (u Uniform) Fill(data []float32, _ []int, rng *rand.Rand) {
	for i := range data {
		data[i] = float32((rng.Float64()*2 - 1) * u.Bound)
	}
}

// LinearDefault is PyTorch's nn.Linear initialisation for a layer with
// fan_in inputs: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
func LinearDefault(fanIn int) Uniform { return Uniform{Bound: 1 / math.Sqrt(float64(fanIn))} }

// Const fills every element with V (LayerNorm weight 1, biases 0).
type Const struct{ V float32 }

// Fill implements Init.
func (c Const) Fill(data []float32, _ []int, _ *rand.Rand) {
	for i := range data {
		data[i] = c.V
	}
}

// NormalWithZeroRow is Normal with one row set to zero: an Embedding with a
// padding_idx.
type NormalWithZeroRow struct {
	Std float64
	Row int
}

// Fill implements Init.
func (n NormalWithZeroRow) Fill(data []float32, shape []int, rng *rand.Rand) {
	Normal{Std: n.Std}.Fill(data, shape, rng)
	if len(shape) == 2 && n.Row >= 0 && n.Row < shape[0] {
		clear(data[n.Row*shape[1] : (n.Row+1)*shape[1]])
	}
}
