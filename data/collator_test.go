package data

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
)

// fixtureArch maps a fixture folder to its architecture.
var fixtureArch = map[string]Architecture{
	"uni_span_bert":            UniEncoderSpan,
	"uni_span_deberta":         UniEncoderSpan,
	"uni_token_bert":           UniEncoderToken,
	"uni_token_deberta":        UniEncoderToken,
	"bi_span_deberta":          BiEncoderSpan,
	"bi_token_deberta":         BiEncoderToken,
	"uni_span_relex_deberta":   UniEncoderSpanRelex,
	"uni_span_decoder_deberta": UniEncoderSpanDecoder,
}

// checkedElsewhere are reference keys that depend on the reference's own
// random draws (relex negative pairs); TestRelexTargetsFixture checks them.
// Every other key is compared.
var checkedElsewhere = map[string]bool{"adj_matrix": true, "rel_matrix": true}

type fixtureBatch struct {
	Examples []struct {
		TokenizedText []string `json:"tokenized_text"`
		NER           [][3]any `json:"ner"`
	} `json:"examples"`
	EntityTypes       []string                   `json:"entity_types"`
	RelationTypes     []string                   `json:"relation_types"`
	Relations         [][][3]any                 `json:"relations"`
	Collated          map[string]json.RawMessage `json:"collated"`
	CollatedInference map[string]json.RawMessage `json:"collated_inference"`
}

func (f *fixtureBatch) examples(t *testing.T) []Example {
	t.Helper()
	out := make([]Example, len(f.Examples))
	for i, e := range f.Examples {
		out[i].Words = e.TokenizedText
		for _, n := range e.NER {
			out[i].Entities = append(out[i].Entities, Entity{Start: int(n[0].(float64)), End: int(n[1].(float64)), Label: n[2].(string)})
		}
		if f.Relations != nil {
			for _, r := range f.Relations[i] {
				out[i].Relations = append(out[i].Relations, Relation{Head: int(r[0].(float64)), Tail: int(r[1].(float64)), Label: r[2].(string)})
			}
		}
		out[i].Source = fmt.Sprintf("batch.json:examples[%d]", i)
	}
	return out
}

// fixtureTokenizer loads a fixture's tokenizer folder with tokenizer.Load.
func fixtureTokenizer(t *testing.T, dir string) tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatalf("load tokenizer %s: %v", dir, err)
	}
	return tok
}

func fixtureCollator(t *testing.T, name string, seed uint64) (*Collator, *fixtureBatch) {
	t.Helper()
	dir := testutil.Fixture(t, name)
	var gc struct {
		MaxWidth        int    `json:"max_width"`
		MaxLen          int    `json:"max_len"`
		MaxTypes        int    `json:"max_types"`
		MaxNegTypeRatio int    `json:"max_neg_type_ratio"`
		EntToken        string `json:"ent_token"`
		SepToken        string `json:"sep_token"`
		RelToken        string `json:"rel_token"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "gliner_config.json"), &gc)
	var tc struct {
		ModelMaxLength int `json:"model_max_length"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "tokenizer", "tokenizer_config.json"), &tc)
	cfg := CollatorConfig{
		Architecture: fixtureArch[name], MaxWidth: gc.MaxWidth, MaxLen: gc.MaxLen, MaxTypes: gc.MaxTypes,
		MaxNegTypeRatio: gc.MaxNegTypeRatio, EntToken: gc.EntToken, SepToken: gc.SepToken, RelToken: gc.RelToken,
		ModelMaxLength: tc.ModelMaxLength,
	}
	tok := fixtureTokenizer(t, filepath.Join(dir, "tokenizer"))
	var aux tokenizer.Tokenizer
	switch {
	case cfg.Architecture.BiEncoder():
		aux = tok // the fixtures' labels encoder shares the WordPiece vocabulary
	case cfg.Architecture.Decoder():
		aux = fixtureTokenizer(t, filepath.Join(dir, "decoder_tokenizer"))
	}
	c, err := NewCollator(cfg, tok, aux, seed)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var fb fixtureBatch
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &fb)
	return c, &fb
}

// idToClasses decodes the reference's [{"1": "person", ...}, ...] into
// ordered lists.
func idToClasses(t *testing.T, raw json.RawMessage) [][]string {
	t.Helper()
	var ms []map[string]string
	if err := json.Unmarshal(raw, &ms); err != nil {
		t.Fatalf("id_to_classes: %v", err)
	}
	out := make([][]string, len(ms))
	for i, m := range ms {
		out[i] = make([]string, len(m))
		for k, v := range m {
			id, err := strconv.Atoi(k)
			if err != nil || id < 1 || id > len(m) {
				t.Fatalf("id_to_classes[%d]: bad id %q", i, k)
			}
			out[i][id-1] = v
		}
	}
	return out
}

// batchTensor returns the Batch tensor for a reference key.
func batchTensor(b *Batch, key string) (shape []int, data []float64, ok bool) {
	conv := func(sh []int, n int, at func(int) float64) ([]int, []float64, bool) {
		if sh == nil {
			return nil, nil, false
		}
		d := make([]float64, n)
		for i := range d {
			d[i] = at(i)
		}
		return sh, d, true
	}
	i64 := func(x Tensor[int64]) ([]int, []float64, bool) {
		return conv(x.Shape, len(x.Data), func(i int) float64 { return float64(x.Data[i]) })
	}
	switch key {
	case "input_ids":
		return i64(b.InputIDs)
	case "attention_mask":
		return i64(b.AttentionMask)
	case "token_type_ids":
		return i64(b.TokenTypeIDs)
	case "words_mask":
		return i64(b.WordsMask)
	case "text_lengths":
		return i64(b.TextLengths)
	case "span_idx":
		return i64(b.SpanIdx)
	case "labels_input_ids":
		return i64(b.LabelsInputIDs)
	case "labels_attention_mask":
		return i64(b.LabelsAttentionMask)
	case "span_mask":
		return conv(b.SpanMask.Shape, len(b.SpanMask.Data), func(i int) float64 {
			if b.SpanMask.Data[i] {
				return 1
			}
			return 0
		})
	case "decoder_input_ids":
		return i64(b.DecoderInputIDs)
	case "decoder_attention_mask":
		return i64(b.DecoderAttentionMask)
	case "decoder_words_mask":
		return i64(b.DecoderWordsMask)
	case "decoder_labels_ids":
		return i64(b.DecoderLabelsIDs)
	case "decoder_labels_mask":
		return i64(b.DecoderLabelsMask)
	case "decoder_labels":
		return i64(b.DecoderLabels)
	case "adj_matrix":
		return conv(b.AdjMatrix.Shape, len(b.AdjMatrix.Data), func(i int) float64 { return float64(b.AdjMatrix.Data[i]) })
	case "rel_matrix":
		return conv(b.RelMatrix.Shape, len(b.RelMatrix.Data), func(i int) float64 { return float64(b.RelMatrix.Data[i]) })
	case "labels":
		return conv(b.Labels.Shape, len(b.Labels.Data), func(i int) float64 { return float64(b.Labels.Data[i]) })
	}
	return nil, nil, false
}

// compareCollated checks every tensor and plain entry of the reference's
// collated dict against b, element by element.
func compareCollated(t *testing.T, name string, ref map[string]json.RawMessage, b *Batch, targets bool) {
	t.Helper()
	keys := make([]string, 0, len(ref))
	for k := range ref {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	compared := 0
	for _, k := range keys {
		raw := ref[k]
		switch k {
		case "tokens":
			var want [][]string
			mustUnmarshal(t, raw, &want)
			if !equalNested(want, b.Words) {
				t.Errorf("%s: tokens = %v, want %v", name, b.Words, want)
			}
			continue
		case "id_to_classes":
			if want := idToClasses(t, raw); !equalNested(want, b.IDToClass) {
				t.Errorf("%s: id_to_classes = %v, want %v", name, b.IDToClass, want)
			}
			continue
		case "rel_id_to_classes":
			if want := idToClasses(t, raw); !equalNested(want, b.RelIDToClass) {
				t.Errorf("%s: rel_id_to_classes = %v, want %v", name, b.RelIDToClass, want)
			}
			continue
		case "rel_class_to_ids":
			continue // the inverse of rel_id_to_classes
		case "token_lengths":
			var want []int
			mustUnmarshal(t, raw, &want)
			if fmt.Sprint(want) != fmt.Sprint(b.TokenLengths) {
				t.Errorf("%s: token_lengths = %v, want %v", name, b.TokenLengths, want)
			}
			continue
		case "word_lengths":
			var want []int64
			mustUnmarshal(t, raw, &want)
			if fmt.Sprint(want) != fmt.Sprint(b.TextLengths.Data) {
				t.Errorf("%s: word_lengths = %v, want %v", name, b.TextLengths.Data, want)
			}
			continue
		case "entities":
			var want [][][3]any
			mustUnmarshal(t, raw, &want)
			got := make([][][3]any, b.B())
			for i := range got {
				if b.Entities == nil {
					got[i] = nil
					continue
				}
				for _, e := range b.Entities[i] {
					got[i] = append(got[i], [3]any{float64(e.Start), float64(e.End), e.Label})
				}
			}
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Errorf("%s: entities = %v, want %v", name, got, want)
			}
			continue
		}
		if checkedElsewhere[k] {
			continue
		}
		var jt testutil.JSONTensor
		mustUnmarshal(t, raw, &jt)
		want, err := jt.Floats()
		if err != nil {
			t.Fatalf("%s: %s: %v", name, k, err)
		}
		shape, got, ok := batchTensor(b, k)
		if !ok {
			t.Errorf("%s: batch lacks %s %v", name, k, jt.Shape)
			continue
		}
		if fmt.Sprint(shape) != fmt.Sprint(jt.Shape) {
			t.Errorf("%s: %s shape %v, want %v", name, k, shape, jt.Shape)
			continue
		}
		bad := 0
		for i := range want {
			if got[i] != want[i] {
				if bad < 5 {
					t.Errorf("%s: %s[flat %d] = %v, want %v", name, k, i, got[i], want[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %s: %d of %d elements differ", name, k, bad, len(want))
		}
		compared++
	}
	if compared < 5 {
		t.Errorf("%s: only %d tensors compared", name, compared)
	}
	if _, _, ok := batchTensor(b, "labels"); ok != targets {
		t.Errorf("%s: labels present = %v, want %v", name, ok, targets)
	}
}

func mustUnmarshal(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", string(raw[:min(len(raw), 80)]), err)
	}
}

func equalNested(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestCollateInferenceFixtures: with the fixture's entity (and relation)
// types as the caller's labels, the batch equals collated_inference.
func TestCollateInferenceFixtures(t *testing.T) {
	for _, name := range testutil.ModelFixtures {
		t.Run(name, func(t *testing.T) {
			c, fb := fixtureCollator(t, name, 1)
			var rel []string
			if c.Config().Architecture.Relex() {
				rel = fb.RelationTypes
			}
			b, err := c.Inference(fb.examples(t), fb.EntityTypes, rel)
			if err != nil {
				t.Fatal(err)
			}
			compareCollated(t, name, fb.CollatedInference, b, false)
		})
	}
}

// TestCollateTrainFixtures: with the fixture's own id_to_classes as fixed
// per-example label sets, the training batch (targets included) equals
// collated element by element.
func TestCollateTrainFixtures(t *testing.T) {
	for _, name := range testutil.ModelFixtures {
		t.Run(name, func(t *testing.T) {
			c, fb := fixtureCollator(t, name, 1)
			opts := CollateOptions{Labels: idToClasses(t, fb.Collated["id_to_classes"]), Targets: true}
			if raw, ok := fb.Collated["rel_id_to_classes"]; ok {
				opts.RelLabels = idToClasses(t, raw)
			}
			b, err := c.Collate(fb.examples(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			compareCollated(t, name, fb.Collated, b, true)
			if b.Stats.TooWide+b.Stats.UnlabeledClass+b.Stats.EntitiesOutside != 0 {
				t.Errorf("%s: unexpected dropped entities %+v", name, b.Stats)
			}
		})
	}
}

// TestRelexTargetsFixture checks adj_matrix and rel_matrix. Example 1 has
// one gold pair and two entities, so its pairs are determined; example 0's
// negatives are random, so the test looks for a seed that drew all twelve
// ordered pairs, as the reference's draw did, and then requires equality;
// for every seed the gold pairs and types must be there.
func TestRelexTargetsFixture(t *testing.T) {
	name := "uni_span_relex_deberta"
	var want struct {
		Collated struct {
			Adj testutil.JSONTensor `json:"adj_matrix"`
			Rel testutil.JSONTensor `json:"rel_matrix"`
		} `json:"collated"`
	}
	testutil.ReadJSON(t, filepath.Join(testutil.Fixture(t, name), "batch.json"), &want)
	wantAdj, err := want.Collated.Adj.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	wantRel, err := want.Collated.Rel.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	full := false
	for seed := uint64(1); seed <= 40; seed++ {
		c, fb := fixtureCollator(t, name, seed)
		b, err := c.Collate(fb.examples(t), CollateOptions{
			Labels:    idToClasses(t, fb.Collated["id_to_classes"]),
			RelLabels: idToClasses(t, fb.Collated["rel_id_to_classes"]),
			Targets:   true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(b.AdjMatrix.Shape[:2]) != "[2 4]" || b.RelMatrix.Shape[2] != 3 {
			t.Fatalf("seed %d: adj %v rel %v", seed, b.AdjMatrix.Shape, b.RelMatrix.Shape)
		}
		// Example 1: pairs (0,1) gold "located in" and (1,0) negative.
		ex1 := b.AdjMatrix.Data[16:]
		if fmt.Sprint(ex1) != fmt.Sprint(wantAdj[16:]) {
			t.Fatalf("seed %d: example 1 adj %v, want %v", seed, ex1, wantAdj[16:])
		}
		p := b.RelMatrix.Shape[1]
		if r := b.RelMatrix.Data[p*3 : p*3+6]; fmt.Sprint(r) != "[0 1 0 0 0 0]" {
			t.Fatalf("seed %d: example 1 rel rows %v", seed, r)
		}
		// Example 0: gold pairs (0,1) works at, (1,2) located in.
		adj := b.AdjMatrix.Data[:16]
		if adj[0*4+1] != 1 || adj[1*4+2] != 1 || adj[1*4+0] != 1 || adj[2*4+1] != 1 {
			t.Fatalf("seed %d: gold or reversed pair missing from %v", seed, adj)
		}
		npairs := 0
		for _, v := range adj {
			npairs += int(v)
		}
		var ones [3]int
		for q := range p {
			for r := range 3 {
				ones[r] += int(b.RelMatrix.Data[q*3+r])
			}
		}
		if ones != [3]int{1, 1, 0} || (npairs < p && b.RelMatrix.Data[(npairs)*3:][0] != 0) {
			t.Fatalf("seed %d: example 0 relation rows %v", seed, b.RelMatrix.Data[:p*3])
		}
		if npairs == 12 {
			full = true
			if fmt.Sprint(b.AdjMatrix.Data) != fmt.Sprint(wantAdj) || fmt.Sprint(b.RelMatrix.Data) != fmt.Sprint(wantRel) {
				t.Fatalf("seed %d: all pairs drawn but adj/rel differ:\n%v\n%v", seed, b.RelMatrix.Data, wantRel)
			}
		}
	}
	if !full {
		t.Fatalf("no seed in 1..40 drew all 12 pairs of example 0")
	}
}
