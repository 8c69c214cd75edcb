package models

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
)

// By default the decoder's targets are each label's tokens and one end
// token; padding is ignored (so changing the padding ids changes nothing),
// the prefix is sized over the kept spans only and positions start at the
// first real slot. Under ReferenceCompat the padding counts.
func TestSpanDecoderDefaultTargetsIgnorePadding(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, decoderFixture)
	b := decoderBatch(t, dir, true, m.Cfg.MaxWidth)
	m.Loss = losses.DefaultOptions()
	out, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	p := stepDecoderPlan(t, m, b)
	M, Tl := b.DecoderLabelsIDs.Shape[0], b.DecoderLabelsIDs.Shape[1]
	if p.M != M || p.T != p.Tp+Tl {
		t.Fatalf("plan M=%d T=%d Tp=%d, want M=%d T=Tp+%d", p.M, p.T, p.Tp, M, Tl)
	}
	// Prefix length: 1 + the most decoder tokens of a kept span.
	K, td := m.Cfg.MaxWidth, b.DecoderWordsMask.Shape[1]
	most := 0
	for _, row := range p.Rows {
		bi, n := int(row)/(b.NumWords*K), int(row)%(b.NumWords*K)
		c := 0
		for t := 0; t < td; t++ {
			if w := int(b.DecoderWordsMask.Data[bi*td+t]); w >= n/K+1 && w <= n/K+n%K+1 {
				c++
			}
		}
		most = max(most, c)
	}
	if p.Tp != most+1 {
		t.Errorf("prefix length %d, want %d", p.Tp, most+1)
	}
	// Targets and the loss recomputed from the logits.
	lg := out.Intermediates["decoder_lm_logits"]
	V := lg.Shape[2]
	want := 0.0
	for r := 0; r < M; r++ {
		var tg []int64
		for j := 0; j < Tl && b.DecoderLabelsMask.Data[r*Tl+j] == 1; j++ {
			tg = append(tg, b.DecoderLabelsIDs.Data[r*Tl+j])
		}
		tg = append(tg, 269)
		for j, id := range tg {
			tpos := p.Tp - 1 + j
			if got := p.Targets[r*p.T+tpos]; got != id {
				t.Fatalf("row %d target %d = %d, want %d", r, tpos, got, id)
			}
			row := lg.F[(r*p.T+tpos)*V : (r*p.T+tpos+1)*V]
			mx := math.Inf(-1)
			for _, x := range row {
				mx = math.Max(mx, float64(x))
			}
			z := 0.0
			for _, x := range row {
				z += math.Exp(float64(x) - mx)
			}
			want += math.Log(z) + mx - float64(row[id])
		}
		counted := 0
		for _, x := range p.Targets[r*p.T : (r+1)*p.T] {
			if x != losses.IgnoreIndex {
				counted++
			}
		}
		if counted != len(tg) {
			t.Errorf("row %d: %d targets counted, want %d (label and end token)", r, counted, len(tg))
		}
		// Positions count the real slots from 0.
		pos := 0
		for j := 0; j < p.T; j++ {
			if p.Mask[r*p.T+j] == 1 {
				if p.Positions[r*p.T+j] != int64(pos) {
					t.Fatalf("row %d slot %d position %d, want %d", r, j, p.Positions[r*p.T+j], pos)
				}
				pos++
			}
		}
	}
	dl := float64(out.Intermediates["decoder_loss"].F[0])
	if math.Abs(dl-want) > 1e-4*want {
		t.Errorf("decoder_loss %v, recomputed %v", dl, want)
	}

	// Padding ids do not matter by default; they are targets under compat.
	loss := func(compat bool, padID int64) float32 {
		bb := *b
		bb.DecoderLabelsIDs.Data = append([]int64(nil), b.DecoderLabelsIDs.Data...)
		bb.DecoderLabels.Data = append([]int64(nil), b.DecoderLabels.Data...)
		for i, mk := range b.DecoderLabelsMask.Data {
			if mk == 0 {
				bb.DecoderLabelsIDs.Data[i], bb.DecoderLabels.Data[i] = padID, padID
			}
		}
		m.Loss.ReferenceCompat = compat
		o, err := m.Step(&bb)
		if err != nil {
			t.Fatal(err)
		}
		return o.Intermediates["decoder_loss"].F[0]
	}
	if a, c := loss(false, 269), loss(false, 5); a != c {
		t.Errorf("default decoder loss depends on padding ids: %v vs %v", a, c)
	}
	if a, c := loss(true, 269), loss(true, 5); a == c {
		t.Errorf("compat decoder loss ignores the padding targets (%v both)", a)
	}
}

// A batch whose decoder labels do not match its gold spans is an error
// naming the tensor.
func TestSpanDecoderBadBatch(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, decoderFixture)
	b := decoderBatch(t, dir, true, m.Cfg.MaxWidth)
	bb := *b
	bb.DecoderLabelsIDs.Shape = []int{b.DecoderLabelsIDs.Shape[0] - 1, b.DecoderLabelsIDs.Shape[1]}
	if _, err := m.Step(&bb); err == nil || !strings.Contains(err.Error(), "decoder_labels_ids") {
		t.Errorf("mismatched decoder labels: %v", err)
	}
	bb = *b
	bb.DecoderWordsMask.Data = bb.DecoderWordsMask.Data[:3]
	if _, err := m.Step(&bb); err == nil || !strings.Contains(err.Error(), "decoder_words_mask") {
		t.Errorf("short decoder_words_mask: %v", err)
	}
}

// A decoder tokenizer whose vocabulary does not fit the checkpoint's
// decoder is an error naming the folder; a model folder without
// decoder_tokenizer/ is one too.
func TestDecoderTokenizerMismatch(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, decoderFixture)
	src := filepath.Join(dir, DecoderTokenizerDir)
	bad := filepath.Join(t.TempDir(), "model", DecoderTokenizerDir)
	testutil.CopyWithExtraVocab(t, src, bad, "extra-token", 5) // one id more than the decoder has
	_, err := m.LoadDecoderTokenizer(filepath.Dir(bad))
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched vocabulary: %v", err)
	}
	_, err = m.LoadDecoderTokenizer(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), DecoderTokenizerDir) {
		t.Errorf("missing decoder_tokenizer/: %v", err)
	}
	if _, err := m.LoadDecoderTokenizer(dir); err != nil {
		t.Errorf("fixture decoder tokenizer: %v", err)
	}
}

// With a labels constraint every generated label is one of the given
// labels (the fixture's random decoder left alone writes noise).
func TestSpanDecoderLabelsConstraint(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, decoderFixture)
	dtok, err := m.LoadDecoderTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"person", "location", "organization"}
	allowed, err := m.LabelsConstraint(dtok, labels)
	if err != nil {
		t.Fatal(err)
	}
	b := decoderBatch(t, dir, false, m.Cfg.MaxWidth)
	out, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := m.GenerateLabels(b, out, GenerateOptions{Threshold: 0.5, MaxNewTokens: 8, Tokenizer: dtok, Allowed: allowed})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Text) == 0 {
		t.Fatal("no spans named")
	}
	for i, s := range gen.Text {
		ok := false
		for _, l := range labels {
			ok = ok || s == " "+l
		}
		if !ok {
			t.Errorf("span %d: generated %q (ids %v), not one of %v", i, s, gen.IDs[i], labels)
		}
	}
	if _, err := m.LabelsConstraint(dtok, nil); err == nil {
		t.Error("empty label list accepted")
	}
}

// The whole decoder path with _enc2dec_proj (hidden_size 16 ≠ n_embd 32)
// and the default targets: gradients of the total loss with respect to the
// projection, the span layer and the decoder's last layer norm match
// finite differences.
func TestSpanDecoderProjectionGradients(t *testing.T) {
	_, dir, _ := loadFixtureModel(t, decoderFixture)
	cfg, err := LoadConfig(filepath.Join(dir, "gliner_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HiddenSize = 16
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Initialize(5)
	b := decoderBatch(t, dir, true, m.Cfg.MaxWidth)
	c, k, p, err := m.graphFor(b, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.bind(c, k, b, p); err != nil {
		t.Fatal(err)
	}
	if err := m.head.bind(m, c, k, b, p); err != nil {
		t.Fatal(err)
	}
	var params []*autograd.Param
	for _, n := range []string{"_enc2dec_proj.3.bias", "_enc2dec_proj.0.bias", "span_rep_layer.span_rep_layer.out_project.3.bias",
		DecoderPrefix + ".transformer.ln_f.weight"} {
		p, ok := m.Store.Get(n)
		if !ok {
			t.Fatalf("no parameter %s", n)
		}
		params = append(params, p)
	}
	if err := autograd.GradCheck(c.m, params, 1e-2, 2e-2); err != nil {
		t.Fatal(err)
	}
}

// Exporting the decoder fixture writes its state dict and
// gliner_config.json byte for byte (the tied lm_head.weight included) and
// decoder_tokenizer/; the folder reloads
// with the same logits and its decoder tokenizer passes the check.
func TestSpanDecoderExportRoundTrip(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, decoderFixture)
	tok := fixtureTokenizer(t, dir)
	dtok, err := m.LoadDecoderTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "exported")
	if err := ExportWith(m, tok, out, ExportOptions{AuxTokenizer: dtok}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("exported model.safetensors (%d bytes) differs from the fixture's (%d bytes)", len(got), len(want))
	}
	for _, f := range []string{"gliner_config.json"} {
		w, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		g, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(g) != string(w) {
			t.Errorf("exported %s differs from the fixture's", f)
		}
	}
	m2, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.LoadDecoderTokenizer(out); err != nil {
		t.Fatal(err)
	}
	b := decoderBatch(t, dir, false, m.Cfg.MaxWidth)
	o1, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := m2.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range o1.Logits.F {
		if o1.Logits.F[i] != o2.Logits.F[i] {
			t.Fatalf("logit %d: %v after the round trip, %v before", i, o2.Logits.F[i], o1.Logits.F[i])
		}
	}
}
