package data_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
)

// fixturesDir finds the golden fixtures next to the checkout (GLINER_SHARED
// overrides), as the tests do.
func fixturesDir() string {
	if d := os.Getenv("GLINER_SHARED"); d != "" {
		return filepath.Join(d, "fixtures")
	}
	return filepath.Join("..", "..", "shared", "fixtures")
}

// A span model's inference batch: the prompt "<<ENT>> person <<ENT>>
// location <<SEP>>" precedes the words; words_mask marks each word's first
// sub-token with its 1-based index.
func ExampleCollator_Inference() {
	tok, err := tokenizer.Load(filepath.Join(fixturesDir(), "uni_span_bert", "tokenizer"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := data.DefaultCollatorConfig(data.UniEncoderSpan)
	cfg.MaxWidth = 2
	c, err := data.NewCollator(cfg, tok, nil, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	exs := []data.Example{{Words: []string{"alice", "joined", "microsoft"}}}
	b, err := c.Inference(exs, []string{"person", "location", "person"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Tokens(intSlice(b.InputIDs.Data)))
	fmt.Println("words_mask", b.WordsMask.Data)
	fmt.Println("span_idx", b.SpanIdx.Shape, b.SpanIdx.Data)
	fmt.Println("span_mask", b.SpanMask.Data)
	fmt.Println("classes", b.IDToClass[0])
	// Output:
	// [[CLS] <<ENT>> person <<ENT>> location <<SEP>> alice joined microsoft [SEP]]
	// words_mask [0 0 0 0 0 0 1 2 3 0]
	// span_idx [1 6 2] [0 0 0 1 1 1 1 2 2 2 2 3]
	// span_mask [true true true true true false]
	// classes [person location]
}

// Training batches sample negative types from the batch with the
// collator's seeded RNG; the same seed gives the same batches.
func ExampleCollator_Train() {
	tok, err := tokenizer.Load(filepath.Join(fixturesDir(), "uni_token_bert", "tokenizer"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := data.DefaultCollatorConfig(data.UniEncoderToken)
	cfg.MaxNegTypeRatio = 0 // classes = each example's gold types
	c, err := data.NewCollator(cfg, tok, nil, 42)
	if err != nil {
		fmt.Println(err)
		return
	}
	exs := []data.Example{{
		Words:    []string{"alice", "brown", "joined", "microsoft"},
		Entities: []data.Entity{{Start: 0, End: 1, Label: "person"}},
	}}
	b, err := c.Train(exs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("labels", b.Labels.Shape)
	for w := range b.W() {
		fmt.Println(b.Words[0][w], b.Labels.Data[w*3:w*3+3]) // [start end inside] of class 1
	}
	// Output:
	// labels [1 4 1 3]
	// alice [1 0 1]
	// brown [0 1 1]
	// joined [0 0 0]
	// microsoft [0 0 0]
}

// Length-bucketed batching: deterministic per (seed, epoch) and resumable
// from a saved position.
func ExampleLengthSampler() {
	lengths := []int{5, 40, 6, 38, 7, 41, 5, 39}
	s, err := data.NewLengthSampler(lengths, 2, 4, 1, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	batches := s.EpochBatches(0)
	fmt.Printf("padding %.2f (random batching: %.2f)\n",
		data.PaddingFraction(lengths, batches), data.PaddingFraction(lengths, [][]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}}))
	it, _ := s.Iterator(data.SamplerPosition{Epoch: 0, Step: 2})
	fmt.Println(equal(it.Next(), batches[2]), it.Position())
	// Output:
	// padding 0.02 (random batching: 0.43)
	// true {0 3}
}

func intSlice(x []int64) []int {
	out := make([]int, len(x))
	for i, v := range x {
		out[i] = int(v)
	}
	return out
}

func equal(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
