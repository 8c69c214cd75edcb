package models

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/gliner-go/gliner/data"

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
	if len(m.plans.graphs) != 1 {
		t.Fatalf("%d graphs cached with MaxGraphs 1", len(m.plans.graphs))
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

// Batches of different shapes share one activation arena: a smaller batch
// does not grow it, a repeated shape builds no new plan, and values left
// in the arena by another shape's plan do not change any result.
func TestArenaIsReusedAcrossShapes(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "uni_span_bert")
	coll := fixtureCollator(t, m, dir, data.UniEncoderSpan, nil)
	exs, types, _ := fixtureExamples(t, dir)
	if len(exs) < 2 {
		t.Fatalf("fixture has %d examples, the test needs two batch shapes", len(exs))
	}
	collate := func(exs []data.Example, targets bool) *data.Batch {
		b, err := coll.Collate(exs, data.CollateOptions{Labels: [][]string{types}, Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	full, small := collate(exs, true), collate(exs[:1], true)
	if fmt.Sprint(full.InputIDs.Shape) == fmt.Sprint(small.InputIDs.Shape) {
		t.Fatalf("both batches have shape %v", full.InputIDs.Shape)
	}
	if _, err := m.Step(full); err != nil {
		t.Fatal(err)
	}
	bytes := m.ArenaBytes()
	if bytes <= 0 {
		t.Fatalf("arena holds %d bytes after a training step", bytes)
	}
	built := m.GraphsBuilt()
	if _, err := m.Step(small); err != nil {
		t.Fatal(err)
	}
	if got := m.ArenaBytes(); got != bytes {
		t.Fatalf("a smaller batch changed the arena from %d to %d bytes", bytes, got)
	}
	if got := m.GraphsBuilt(); got != built+1 {
		t.Fatalf("a new shape built %d plans, want 1", got-built)
	}
	if _, err := m.Step(small); err != nil {
		t.Fatal(err)
	}
	if got := m.GraphsBuilt(); got != built+1 {
		t.Fatalf("a second batch of the same shape built a plan (%d built)", got)
	}

	// The same inference batch on a fresh model (its own empty arena) and
	// on this one, whose arena holds the other shapes' values.
	fresh, _, _ := loadFixtureModel(t, "uni_span_bert")
	inf := collate(exs[:1], false)
	want, err := fresh.Forward(inf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(collate(exs, false)); err != nil {
		t.Fatal(err)
	}
	got, err := m.Forward(inf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Logits.F, want.Logits.F) {
		t.Fatal("logits depend on what ran in the arena before")
	}
	for name, v := range want.Intermediates {
		if !slices.Equal(got.Intermediates[name].F, v.F) {
			t.Fatalf("%s depends on what ran in the arena before", name)
		}
	}
	if m.ArenaBytes() != bytes {
		t.Fatalf("inference batches grew the arena from %d to %d bytes", bytes, m.ArenaBytes())
	}
}

// StepLoss is Step without the copied outputs: the same loss and
// gradients for the same random stream, and a steady-state call that
// allocates far less than the outputs Step copies.
func TestStepLossMatchesStep(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "uni_span_bert")
	b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	grads := func() [][]float32 {
		var out [][]float32
		for _, p := range m.Store.Params() {
			out = append(out, slices.Clone(p.Grad))
		}
		return out
	}
	m.SeedRNG(7)
	m.Store.ZeroGrad()
	out, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	want := grads()
	m.SeedRNG(7)
	m.Store.ZeroGrad()
	loss, err := m.StepLoss(b)
	if err != nil {
		t.Fatal(err)
	}
	if loss != out.Loss || !(loss > 0) {
		t.Fatalf("StepLoss %v, Step loss %v", loss, out.Loss)
	}
	for i, g := range grads() {
		if !slices.Equal(g, want[i]) {
			t.Fatalf("parameter %s: StepLoss gradients differ from Step's", m.Store.Params()[i].Name)
		}
	}
	outBytes := 4 * len(out.Logits.F)
	for _, v := range out.Intermediates {
		outBytes += 4 * len(v.F)
	}
	allocated := func(f func() error) uint64 {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		if err := f(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms1)
		return ms1.TotalAlloc - ms0.TotalAlloc
	}
	stepBytes := allocated(func() error { _, err := m.Step(b); return err })
	lossBytes := allocated(func() error { _, err := m.StepLoss(b); return err })
	if lossBytes+uint64(outBytes) > stepBytes {
		t.Errorf("steady-state StepLoss allocated %d bytes, Step %d: want at least the %d bytes of copied outputs less", lossBytes, stepBytes, outBytes)
	}
}
