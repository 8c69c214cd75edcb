package models

import (
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/train"
)

// decoder_mode "prompt" is gliner-go's own: the prefix is the span vector
// alone and the generated label replaces the class name. Trained with the
// blank draw on every batch (prompt "<<ENT>> entity <<SEP>>", the decoder
// learning the true type), the tiny fixture model overfits four sentences
// until span detection and the generated types are exactly the gold ones.
func TestSpanDecoderPromptModeLearnsLabels(t *testing.T) {
	dir := testFixtureDir(t)
	cfg, err := LoadConfig(filepath.Join(dir, "gliner_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	mode := "prompt"
	cfg.DecoderMode = &mode
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.DecoderMode() != DecoderPrompt || m.DefaultLabelMode() != LabelsReplace {
		t.Fatalf("decoder mode %v, label mode %v", m.DecoderMode(), m.DefaultLabelMode())
	}
	st, err := checkpoints.ReadState(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := m.decoderCheckState(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Store.LoadState(st, nil, checkpoints.LoadOptions{IgnoreUnexpected: ignore}); err != nil {
		t.Fatal(err)
	}
	tok := fixtureTokenizer(t, dir)
	dtok, err := m.LoadDecoderTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	cc := data.DefaultCollatorConfig(data.UniEncoderSpanDecoder)
	cc.MaxWidth, cc.MaxLen, cc.MaxNegTypeRatio, cc.BlankEntityProb = m.Cfg.MaxWidth, m.Cfg.MaxLen, 0, 1
	col, err := data.NewCollator(cc, tok, dtok, 1)
	if err != nil {
		t.Fatal(err)
	}
	exs := []data.Example{
		{Words: []string{"alice", "visited", "paris", "."}, Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}, {Start: 2, End: 2, Label: "location"}}},
		{Words: []string{"microsoft", "hired", "bob", "."}, Entities: []data.Entity{{Start: 0, End: 0, Label: "organization"}, {Start: 2, End: 2, Label: "person"}}},
		{Words: []string{"london", "is", "big", "."}, Entities: []data.Entity{{Start: 0, End: 0, Label: "location"}}},
		{Words: []string{"brown", "joined", "microsoft", "."}, Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}, {Start: 2, End: 2, Label: "organization"}}},
	}
	opt, err := train.NewAdamW([]*train.Group{{Name: "all", BaseLR: 3e-3, LR: 3e-3, Params: m.Store.Params()}},
		train.AdamWOptions{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := col.Collate(exs, data.CollateOptions{Labels: [][]string{{"entity"}}})
	if err != nil {
		t.Fatal(err)
	}
	right := func() (bool, [][]GenSpan) {
		out, err := m.Forward(inf)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := m.GenerateLabels(inf, out, GenerateOptions{Threshold: 0.5, MaxNewTokens: 16, Tokenizer: dtok})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.DecodeWithLabels(out, inf, gen, decode.Options{Threshold: 0.5, FlatNER: true}, m.DefaultLabelMode())
		if err != nil {
			t.Fatal(err)
		}
		for i, ex := range exs {
			if len(got[i]) != len(ex.Entities) {
				return false, got
			}
			for j, e := range ex.Entities {
				g := got[i][j]
				if g.Start != e.Start || g.End != e.End || g.Label != e.Label {
					return false, got
				}
			}
		}
		return true, got
	}
	const maxSteps = 300
	for step := 0; step < maxSteps; step++ {
		b, err := col.Train(exs)
		if err != nil {
			t.Fatal(err)
		}
		if !b.Blank {
			t.Fatal("blank draw did not happen with blank_entity_prob 1")
		}
		m.Store.ZeroGrad()
		out, err := m.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		trained := map[*autograd.Param]bool{}
		for _, p := range m.TrainedParams(b) {
			trained[p] = true
		}
		opt.Step(func(p *autograd.Param) bool { return trained[p] })
		if step%20 == 19 {
			if ok, got := right(); ok {
				t.Logf("step %d: loss %.4f, decoded %v", step+1, out.Loss, got)
				return
			}
		}
	}
	_, got := right()
	t.Fatalf("after %d steps the generated labels are still wrong: %v", maxSteps, got)
}

func testFixtureDir(t *testing.T) string {
	t.Helper()
	_, dir, _ := loadFixtureModel(t, decoderFixture)
	return dir
}
