package models_test

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
)

// A UniEncoderSpanRelex model (tiny BERT, dot adjacency) built from its
// config and run at inference on one two-word text with one entity type
// and one relation type: with thresholds 0 every valid span is an entity
// and every ordered entity pair is scored.
func ExampleModel_ForwardRelex() {
	bert := `{"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
		"intermediate_size": 16, "vocab_size": 30, "max_position_embeddings": 16}`
	cfg, err := models.ParseConfig([]byte(`{"hidden_size": 8, "max_width": 2, "dropout": 0,
		"relations_layer": "dot", "class_token_index": 10, "rel_token_index": 12, "encoder_config": ` + bert + `}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := models.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Initialize(1)
	// [CLS] <<ENT>> person <<SEP>> <<REL>> works_at <<SEP>> w1 w2 [SEP]
	b := &data.Batch{
		MaxWidth: 2, NumWords: 2, NumClasses: 1,
		InputIDs:      data.Tensor[int64]{Shape: []int{1, 10}, Data: []int64{2, 10, 5, 11, 12, 6, 11, 7, 8, 3}},
		AttentionMask: data.Tensor[int64]{Shape: []int{1, 10}, Data: []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		WordsMask:     data.Tensor[int64]{Shape: []int{1, 10}, Data: []int64{0, 0, 0, 0, 0, 0, 0, 1, 2, 0}},
		TextLengths:   data.Tensor[int64]{Shape: []int{1, 1}, Data: []int64{2}},
		SpanIdx:       data.Tensor[int64]{Shape: []int{1, 4, 2}, Data: []int64{0, 0, 0, 1, 1, 1, 1, 2}},
		SpanMask:      data.Tensor[bool]{Shape: []int{1, 4}, Data: []bool{true, true, true, false}},
		IDToClass:     [][]string{{"person"}},
		RelIDToClass:  [][]string{{"works at"}},
	}
	out, err := m.ForwardRelex(b, 0, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := out.Relex
	fmt.Println("entities", r.E, r.EntitySpans, "pairs", r.N, r.PairIdx, "rel_logits", r.RelLogits.Shape)
	ents, err := m.Decode(out, b, decode.Options{Threshold: 0, FlatNER: false, MultiLabel: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	rels, err := m.DecodeRelations(out, b, ents, 0)
	fmt.Println(len(ents[0]), "entities,", len(rels[0]), "relations", err)
	// Output:
	// entities 3 [0 0 0 1 1 1] pairs 6 [0 1 0 2 1 0 1 2 2 0 2 1] rel_logits [1 6 1]
	// 3 entities, 6 relations <nil>
}
