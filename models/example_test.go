package models_test

import (
	"fmt"
	"sort"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
)

// A BiEncoderToken model built from its config (tiny BERT text and labels
// encoders), run on a hand-made batch of one two-word text and two labels.
func ExampleNew() {
	bert := `{"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
		"intermediate_size": 16, "vocab_size": 30, "max_position_embeddings": 16}`
	cfg, err := models.ParseConfig([]byte(`{"span_mode": "token_level", "hidden_size": 8, "max_width": 4,
		"dropout": 0, "labels_encoder": "bert", "encoder_config": ` + bert + `, "labels_encoder_config": ` + bert + `}`))
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
	b := &data.Batch{
		MaxWidth: 4, NumWords: 2, NumClasses: 2,
		InputIDs:            data.Tensor[int64]{Shape: []int{1, 4}, Data: []int64{2, 5, 6, 3}},
		AttentionMask:       data.Tensor[int64]{Shape: []int{1, 4}, Data: []int64{1, 1, 1, 1}},
		WordsMask:           data.Tensor[int64]{Shape: []int{1, 4}, Data: []int64{0, 1, 2, 0}},
		TextLengths:         data.Tensor[int64]{Shape: []int{1, 1}, Data: []int64{2}},
		LabelsInputIDs:      data.Tensor[int64]{Shape: []int{2, 3}, Data: []int64{2, 7, 3, 2, 8, 3}},
		LabelsAttentionMask: data.Tensor[int64]{Shape: []int{2, 3}, Data: []int64{1, 1, 1, 1, 1, 1}},
		IDToClass:           [][]string{{"person", "place"}},
	}
	out, err := m.Forward(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Arch, "logits", out.Logits.Shape)
	var names []string
	for n := range out.Intermediates {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println(names)
	ents, err := m.Decode(out, b, decode.DefaultOptions())
	fmt.Println(len(ents), err)
	// Output:
	// gliner_bi_encoder_token logits [1 2 2 3]
	// [encoder_last_hidden_state labels_encoder_token_output prompts_embedding scorer_output token_rep_layer_output.0 token_rep_layer_output.1 words_embedding]
	// 1 <nil>
}
