package models

import (
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
)

// A steady-state training step builds no graph; the cache is bounded.
func TestGraphsAreCachedPerShapeAndBounded(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "uni_span_bert")
	b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	for i := 0; i < 3; i++ {
		if _, err := m.Step(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth)); err != nil {
		t.Fatal(err)
	}
	if got := m.GraphsBuilt(); got != 2 {
		t.Fatalf("built %d graphs for one training and one inference shape, want 2", got)
	}
	m.MaxGraphs = 1
	if _, err := m.Step(b); err != nil { // evicts the inference graph
		t.Fatal(err)
	}
	if len(m.graphs) != 1 {
		t.Fatalf("%d graphs cached with MaxGraphs 1", len(m.graphs))
	}
	if _, err := m.Step(b); err != nil {
		t.Fatal(err)
	}
	if got := m.GraphsBuilt(); got != 2 {
		t.Fatalf("the training graph was rebuilt (%d built)", got)
	}
}

// The model's random stream (dropout) is saved and restored exactly.
func TestModelRNGStateRoundTrip(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_bert")
	cfg, err := LoadConfig(filepath.Join(dir, "gliner_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dropout = 0.3
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := checkpoints.ReadState(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Store.LoadState(st, nil, checkpoints.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	m.SeedRNG(5)
	state, err := m.RNGState()
	if err != nil {
		t.Fatal(err)
	}
	b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	step := func() float32 {
		m.Store.ZeroGrad()
		out, err := m.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		return out.Loss
	}
	first, second := step(), step()
	if first == second {
		t.Fatalf("dropout 0.3 gave the same loss twice (%v): the stream is not used", first)
	}
	if err := m.SetRNGState(state); err != nil {
		t.Fatal(err)
	}
	if again := step(); again != first {
		t.Fatalf("loss %v after restoring the rng state, %v before", again, first)
	}
	if err := m.SetRNGState([]byte("junk")); err == nil {
		t.Fatal("bad state accepted")
	}
}

// The cache also keeps its graphs' buffers under a byte budget.
func TestGraphCacheByteBudget(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "uni_span_bert")
	train := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	if _, err := m.Step(train); err != nil {
		t.Fatal(err)
	}
	one := m.graphBytes()
	params := int64(m.Store.NumParams()) * 4
	if one <= 0 {
		t.Fatalf("a compiled training graph reports %d bytes", one)
	}
	m.MaxGraphBytes = one + 1 // room for the training graph only
	if _, err := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth)); err != nil {
		t.Fatal(err)
	}
	if len(m.graphs) != 1 {
		t.Fatalf("%d graphs cached under a budget for one (training graph %d bytes, parameters %d)", len(m.graphs), one, params)
	}
}
