package models

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/models/encoder"
)

// tokenDecoderPrefixes are the decoder prefixes the token decoder fixture
// generates from at threshold thr (reference layout, no prefix mask).
func tokenDecoderPrefixes(t testing.TB, thr float64) (*Model, *GeneratedLabels) {
	t.Helper()
	m, dir, _ := loadFixtureModel(t, tokenDecoderFixture)
	m.Loss.ReferenceCompat = true
	b := tokenArchBatch(t, dir, false, data.UniEncoderTokenDecoder, m.Cfg.MaxWidth)
	out, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.GenerateLabels(b, out, GenerateOptions{Threshold: thr, MaxNewTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.IDs) == 0 {
		t.Fatal("no row generated")
	}
	return m, g
}

func generate(t *testing.T, m *Model, g *GeneratedLabels, o encoder.GPT2Generation) [][]int64 {
	t.Helper()
	o.EOS, o.Pad = int(m.decoder().eos), int(m.decoder().eos)
	if o.MaxNewTokens == 0 {
		o.MaxNewTokens = 8
	}
	s := g.Prefix.Shape
	ids, err := m.decoder().gpt.Generate(m.Store, g.Prefix.F, s[0], s[1], nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The key/value cache changes nothing but the cost: greedy and beam search
// give the same ids with and without it, and the processed scores of every
// greedy step agree within 1e-4.
func TestGenerationCacheMatchesFullRecompute(t *testing.T) {
	m, g := tokenDecoderPrefixes(t, 0.5)
	var cached, full [][]float32
	obs := func(dst *[][]float32) func(int, int, []float32) {
		return func(_, _ int, s []float32) { *dst = append(*dst, append([]float32(nil), s...)) }
	}
	a := generate(t, m, g, encoder.GPT2Generation{Observe: obs(&cached)})
	b := generate(t, m, g, encoder.GPT2Generation{Observe: obs(&full), NoCache: true})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("greedy ids differ with the cache:\n%v\n%v", a, b)
	}
	if len(cached) != len(full) || len(cached) == 0 {
		t.Fatalf("%d vs %d observed steps", len(cached), len(full))
	}
	worst := 0.0
	for i := range cached {
		for j := range cached[i] {
			worst = math.Max(worst, math.Abs(float64(cached[i][j]-full[i][j])))
		}
	}
	t.Logf("%d rows, %d observed steps, scores max |Δ| %.3g", len(a), len(cached), worst)
	if worst > 1e-4 {
		t.Errorf("cached scores differ by %.3g", worst)
	}
	lp := 0.7
	ba := generate(t, m, g, encoder.GPT2Generation{NumBeams: 3, LengthPenalty: &lp})
	bb := generate(t, m, g, encoder.GPT2Generation{NumBeams: 3, LengthPenalty: &lp, NoCache: true})
	if fmt.Sprint(ba) != fmt.Sprint(bb) {
		t.Errorf("beam ids differ with the cache:\n%v\n%v", ba, bb)
	}
}

// Sampling with a seed is reproducible; another seed at a high temperature
// draws other tokens; one beam is greedy search.
func TestSeededSamplingIsReproducible(t *testing.T) {
	m, g := tokenDecoderPrefixes(t, 0.5)
	o := encoder.GPT2Generation{DoSample: true, Temperature: 3, TopK: -1, TopP: 0.95, Seed: 7}
	a := generate(t, m, g, o)
	b := generate(t, m, g, o)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seed 7 gave different samples:\n%v\n%v", a, b)
	}
	o.Seed = 8
	if c := generate(t, m, g, o); fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("seeds 7 and 8 drew the same %d rows at temperature 3", len(a))
	}
	greedy := generate(t, m, g, encoder.GPT2Generation{})
	if one := generate(t, m, g, encoder.GPT2Generation{NumBeams: 1}); fmt.Sprint(one) != fmt.Sprint(greedy) {
		t.Errorf("num_beams 1 differs from greedy search")
	}
	if _, err := m.decoder().gpt.Generate(m.Store, g.Prefix.F, g.Prefix.Shape[0], g.Prefix.Shape[1], nil,
		encoder.GPT2Generation{MaxNewTokens: 8, EOS: int(m.decoder().eos), NumBeams: 2, DoSample: true}); err == nil {
		t.Error("beam sampling accepted")
	}
}

// Beam search reproduces Hugging Face's generate(num_beams, length_penalty)
// on the same prefixes (testdata/generation/beam_search.json, made by
// scripts/beam_fixture.py with the reference environment).
func TestBeamSearchMatchesReference(t *testing.T) {
	path := filepath.Join("..", "testdata", "generation", "beam_search.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Threshold   float64 `json:"threshold"`
		PrefixShape []int   `json:"prefix_shape"`
		Runs        []struct {
			NumBeams      int       `json:"num_beams"`
			LengthPenalty float64   `json:"length_penalty"`
			EarlyStopping bool      `json:"early_stopping"`
			MaxNewTokens  int       `json:"max_new_tokens"`
			Sequences     [][]int64 `json:"sequences"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	m, g := tokenDecoderPrefixes(t, fx.Threshold)
	if fmt.Sprint(g.Prefix.Shape) != fmt.Sprint(fx.PrefixShape) {
		t.Fatalf("prefix shape %v, the golden's %v", g.Prefix.Shape, fx.PrefixShape)
	}
	if len(fx.Runs) == 0 {
		t.Fatal("no run")
	}
	for _, r := range fx.Runs {
		lp := r.LengthPenalty
		got := generate(t, m, g, encoder.GPT2Generation{MaxNewTokens: r.MaxNewTokens, NumBeams: r.NumBeams, LengthPenalty: &lp, EarlyStopping: r.EarlyStopping})
		if len(got) != len(r.Sequences) {
			t.Fatalf("beams %d: %d rows, reference %d", r.NumBeams, len(got), len(r.Sequences))
		}
		diff := 0
		for i := range got {
			if fmt.Sprint(got[i]) != fmt.Sprint(r.Sequences[i]) {
				diff++
				if diff <= 3 {
					t.Errorf("beams %d lp %v: row %d = %v, reference %v", r.NumBeams, lp, i, got[i], r.Sequences[i])
				}
			}
		}
		t.Logf("beams %d, length_penalty %v, early_stopping %v: %d rows, %d differ", r.NumBeams, lp, r.EarlyStopping, len(got), diff)
	}
}

// BenchmarkGeneration times greedy and beam generation (15 new tokens)
// of the token decoder fixture's rows at threshold 0.35, with and without
// the key/value cache; the fixture loading is not timed.
func BenchmarkGeneration(b *testing.B) {
	m, g := tokenDecoderPrefixes(b, 0.35)
	for _, beams := range []int{1, 3} {
		for _, noCache := range []bool{false, true} {
			b.Run(fmt.Sprintf("beams=%d/cache=%v", beams, !noCache), func(b *testing.B) {
				o := encoder.GPT2Generation{MaxNewTokens: 15, NumBeams: beams, NoCache: noCache, EOS: int(m.decoder().eos), Pad: int(m.decoder().eos)}
				s := g.Prefix.Shape
				for i := 0; i < b.N; i++ {
					if _, err := m.decoder().gpt.Generate(m.Store, g.Prefix.F, s[0], s[1], nil, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
