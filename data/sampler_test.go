package data

import (
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
)

// syntheticLengths draws n sub-token lengths from a long-tailed
// distribution like real NER sentences (8..400 tokens).
func syntheticLengths(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int, n)
	for i := range out {
		l := 8 + int(rng.ExpFloat64()*40)
		out[i] = min(l, 400)
	}
	return out
}

func TestLengthSamplerEpochCoversAll(t *testing.T) {
	lengths := syntheticLengths(103, 1)
	s, err := NewLengthSampler(lengths, 8, 4, 42, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.NumBatches() != 13 {
		t.Fatalf("NumBatches = %d, want 13", s.NumBatches())
	}
	for epoch := range 3 {
		bs := s.EpochBatches(epoch)
		var all []int
		short := 0
		for _, b := range bs {
			all = append(all, b...)
			if len(b) < 8 {
				short++
			}
		}
		sort.Ints(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("epoch %d: examples not each used once: %v", epoch, all)
			}
		}
		if len(bs) != 13 || short != 1 {
			t.Fatalf("epoch %d: %d batches, %d short", epoch, len(bs), short)
		}
	}
	if !reflect.DeepEqual(s.EpochBatches(1), s.EpochBatches(1)) {
		t.Fatalf("epoch batches not deterministic")
	}
	if reflect.DeepEqual(s.EpochBatches(1), s.EpochBatches(2)) {
		t.Fatalf("epochs 1 and 2 identical")
	}
	s2, _ := NewLengthSampler(lengths, 8, 4, 43, false)
	if reflect.DeepEqual(s.EpochBatches(1), s2.EpochBatches(1)) {
		t.Fatalf("seeds 42 and 43 identical")
	}

	d, err := NewLengthSampler(lengths, 8, 4, 42, true)
	if err != nil {
		t.Fatal(err)
	}
	if bs := d.EpochBatches(0); len(bs) != 12 || d.NumBatches() != 12 {
		t.Fatalf("dropLast: %d batches", len(bs))
	}
	for _, bad := range []struct{ n, bs, mb int }{{0, 8, 1}, {5, 0, 1}, {5, 2, 0}} {
		if _, err := NewLengthSampler(make([]int, bad.n), bad.bs, bad.mb, 1, false); err == nil {
			t.Errorf("NewLengthSampler(%d examples, batch %d, mega %d) accepted", bad.n, bad.bs, bad.mb)
		}
	}
}

// TestLengthSamplerResume: an iterator restarted from a saved (JSON)
// position yields exactly the batches the uninterrupted one does, across
// an epoch boundary.
func TestLengthSamplerResume(t *testing.T) {
	s, err := NewLengthSampler(syntheticLengths(50, 2), 8, 3, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	it, _ := s.Iterator(SamplerPosition{})
	var ref [][]int
	var saved []byte
	for i := range 20 { // 7 batches per epoch: crosses two boundaries
		if i == 5 {
			saved, _ = json.Marshal(it.Position())
		}
		ref = append(ref, it.Next())
	}
	if got := it.Position(); got != (SamplerPosition{Epoch: 2, Step: 6}) {
		t.Fatalf("position after 20 batches = %+v", got)
	}
	var pos SamplerPosition
	if err := json.Unmarshal(saved, &pos); err != nil {
		t.Fatal(err)
	}
	it2, err := s.Iterator(pos)
	if err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 20; i++ {
		if b := it2.Next(); !reflect.DeepEqual(b, ref[i]) {
			t.Fatalf("resumed batch %d = %v, want %v", i, b, ref[i])
		}
	}
	if !reflect.DeepEqual(ref[7], s.EpochBatches(1)[0]) {
		t.Fatalf("iterator's epoch 1 does not start with EpochBatches(1)[0]")
	}
	if _, err := s.Iterator(SamplerPosition{Step: 8}); err == nil {
		t.Fatalf("step past the epoch accepted")
	}
}

func TestLengthSamplerReducesPadding(t *testing.T) {
	lengths := syntheticLengths(2000, 3)
	bucketed, _ := NewLengthSampler(lengths, 8, 50, 1, false)
	random, _ := NewLengthSampler(lengths, 8, 1, 1, false)
	pb := PaddingFraction(lengths, bucketed.EpochBatches(0))
	pr := PaddingFraction(lengths, random.EpochBatches(0))
	if !(pb < 0.1 && pr > 0.3) {
		t.Fatalf("padding fraction bucketed %.3f (want < 0.1), random %.3f (want > 0.3)", pb, pr)
	}
	// Batches {2,4} and {4}: 10 real tokens in 12 slots.
	if got, want := PaddingFraction([]int{2, 4, 4}, [][]int{{0, 1}, {2}}), 1-10.0/12; math.Abs(got-want) > 1e-15 {
		t.Fatalf("PaddingFraction = %v, want %v", got, want)
	}
}

// readSample reads testdata/sample/<name> with the package's JSONL reader.
func readSample(tb testing.TB, name string) []Example {
	tb.Helper()
	path := filepath.Join(testutil.RepoRoot(tb), "testdata", "sample", name)
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("sample data: %v", err)
	}
	defer f.Close()
	r := NewJSONLReader(f, name)
	var exs []Example
	for {
		ex, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		exs = append(exs, ex)
	}
	return exs
}

// sampleLengths returns the sub-token lengths of testdata/sample/train.jsonl
// under the fixtures' bert-base-uncased WordPiece tokenizer.
func sampleLengths(b *testing.B) ([]int, string) {
	exs := readSample(b, "train.jsonl")
	tok, err := loadTokenizerForBench(b)
	if err != nil {
		b.Fatal(err)
	}
	lengths, err := TokenLengths(tok, exs)
	if err != nil {
		b.Fatal(err)
	}
	return lengths, "testdata/sample/train.jsonl"
}

// BenchmarkLengthBucketing reports the padded-token fraction of one epoch
// with length-bucketed batching (mega-batches of 50 batches) and with random
// batching, batch size 8.
func BenchmarkLengthBucketing(b *testing.B) {
	lengths, src := sampleLengths(b)
	b.Logf("%d examples (%s lengths)", len(lengths), src)
	bucketed, err := NewLengthSampler(lengths, 8, 50, 1, false)
	if err != nil {
		b.Fatal(err)
	}
	random, _ := NewLengthSampler(lengths, 8, 1, 1, false)
	var pb, pr float64
	for i := 0; b.Loop(); i++ {
		pb = PaddingFraction(lengths, bucketed.EpochBatches(i))
		pr = PaddingFraction(lengths, random.EpochBatches(i))
	}
	b.ReportMetric(pb, "pad_frac_bucketed")
	b.ReportMetric(pr, "pad_frac_random")
}

// loadTokenizerForBench loads the fixtures' full bert-base-uncased WordPiece
// tokenizer.
func loadTokenizerForBench(b *testing.B) (tokenizer.Tokenizer, error) {
	return tokenizer.Load(filepath.Join(testutil.FixturesDir(b), "tokenizers", "wordpiece_bert_uncased"))
}

// bertCollator is a collator over the full bert-base-uncased WordPiece
// vocabulary with the GLiNER markers added, as a fresh model would have.
func bertCollator(tb testing.TB, arch Architecture, seed uint64) *Collator {
	tb.Helper()
	tok, err := tokenizer.Load(filepath.Join(testutil.FixturesDir(tb), "tokenizers", "wordpiece_bert_uncased"))
	if err != nil {
		tb.Fatal(err)
	}
	if arch.Relex() {
		tok.AddSpecialTokens("<<ENT>>", "<<SEP>>", "<<REL>>")
	} else {
		tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	}
	var aux tokenizer.Tokenizer
	if arch.BiEncoder() {
		aux = tok
	}
	c, err := NewCollator(DefaultCollatorConfig(arch), tok, aux, seed)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestCollateSampleData collates the sample datasets in length-bucketed
// batches for every architecture but the decoder, and checks that every gold
// entity is either a target or counted in the stats.
func TestCollateSampleData(t *testing.T) {
	for _, file := range []string{"train.jsonl", "train_relex.jsonl"} {
		exs := readSample(t, file)
		archs := []Architecture{UniEncoderSpan, UniEncoderToken, BiEncoderSpan, BiEncoderToken}
		if file == "train_relex.jsonl" {
			archs = []Architecture{UniEncoderSpanRelex}
		}
		for _, arch := range archs {
			c := bertCollator(t, arch, 1)
			lengths, err := TokenLengths(c.tok, exs)
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewLengthSampler(lengths, 8, 10, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			total, targets, lost := 0, 0, 0
			for _, idx := range s.EpochBatches(0) {
				batch := make([]Example, len(idx))
				for j, i := range idx {
					batch[j] = exs[i]
				}
				b, err := c.Train(batch)
				if err != nil {
					t.Fatalf("%s %s: %v", file, arch, err)
				}
				for _, es := range b.Entities {
					total += len(es)
				}
				for _, v := range b.Labels.Data {
					targets += int(v)
				}
				lost += b.Stats.TooWide + b.Stats.UnlabeledClass + b.Stats.EntitiesOutside
			}
			if arch.TokenLevel() {
				continue // token targets count words, not entities
			}
			// Sample entities occupy distinct spans, so targets = kept entities.
			if total == 0 || targets+lost != total {
				t.Errorf("%s %s: %d entities, %d targets + %d counted as lost", file, arch, total, targets, lost)
			}
		}
	}
}

// BenchmarkCollateTrain collates training batches of 8 from the sample data
// (UniEncoderSpan, max_width 12, bert-base-uncased WordPiece).
func BenchmarkCollateTrain(b *testing.B) {
	exs := readSample(b, "train.jsonl")
	c := bertCollator(b, UniEncoderSpan, 1)
	n := 0
	for b.Loop() {
		lo := (n * 8) % (len(exs) - 8)
		if _, err := c.Train(exs[lo : lo+8]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*8)/b.Elapsed().Seconds(), "examples/s")
}

// The sequential sampler: the examples in order, the same batches every
// epoch; an iterator resumed mid-epoch continues with the same batches.
func TestSequentialSampler(t *testing.T) {
	s, err := NewSequentialSampler(7, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 2}, {3, 4, 5}, {6}}
	if s.NumBatches() != 3 || !reflect.DeepEqual(s.EpochBatches(0), want) || !reflect.DeepEqual(s.EpochBatches(5), want) {
		t.Fatalf("batches %v / %v, want %v every epoch", s.EpochBatches(0), s.EpochBatches(5), want)
	}
	d, err := NewSequentialSampler(7, 3, true)
	if err != nil || !reflect.DeepEqual(d.EpochBatches(1), want[:2]) {
		t.Fatalf("dropLast: %v %v", d.EpochBatches(1), err)
	}
	it, err := Iterate(s, SamplerPosition{Epoch: 0, Step: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]int
	for range 4 {
		got = append(got, it.Next())
	}
	if w := [][]int{{6}, {0, 1, 2}, {3, 4, 5}, {6}}; !reflect.DeepEqual(got, w) || it.Position() != (SamplerPosition{Epoch: 1, Step: 3}) {
		t.Fatalf("resumed at step 2: %v at %+v, want %v at epoch 1 step 3", got, it.Position(), w)
	}
	for _, c := range []struct{ n, bs int }{{0, 3}, {3, 0}} {
		if _, err := NewSequentialSampler(c.n, c.bs, false); err == nil {
			t.Errorf("NewSequentialSampler(%d, %d): no error", c.n, c.bs)
		}
	}
	if _, err := NewSequentialSampler(2, 3, true); err == nil {
		t.Error("dropLast with no full batch: no error")
	}
}

// The explicit-order sampler yields the given batches every epoch, read
// from a file of JSON lists; bad files and indices are errors naming the
// file, line or batch.
func TestOrderSamplerAndReadBatchOrder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "order.txt")
	if err := os.WriteFile(p, []byte("# reference batches\n[3, 0]\n\n[1]\n[2, 4, 3]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	batches, err := ReadBatchOrder(p)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{3, 0}, {1}, {2, 4, 3}}
	if !reflect.DeepEqual(batches, want) {
		t.Fatalf("ReadBatchOrder: %v, want %v", batches, want)
	}
	s, err := NewOrderSampler(batches, 5)
	if err != nil {
		t.Fatal(err)
	}
	batches[0][0] = 99 // the sampler keeps its own copy
	if s.NumBatches() != 3 || !reflect.DeepEqual(s.EpochBatches(0), want) || !reflect.DeepEqual(s.EpochBatches(2), want) {
		t.Fatalf("order sampler batches %v, want %v every epoch", s.EpochBatches(0), want)
	}
	if _, err := NewOrderSampler([][]int{{0}, {5}}, 5); err == nil || err.Error() != "order sampler: batch 1: example index 5 outside 0..4 (5 examples)" {
		t.Errorf("index out of range: %v", err)
	}
	if _, err := NewOrderSampler([][]int{{0}, {}}, 5); err == nil || err.Error() != "order sampler: batch 1 is empty" {
		t.Errorf("empty batch: %v", err)
	}
	for name, c := range map[string]struct{ text, want string }{
		"not a list":  {"[0, 1]\n{\"a\": 1}\n", p + ":2: want a JSON list of example indices"},
		"not ints":    {"[0.5]\n", p + ":1: want a JSON list"},
		"empty batch": {"[0]\n[]\n", p + ":2: empty batch"},
		"no batches":  {"# nothing\n\n", p + ": no batches"},
	} {
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadBatchOrder(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
