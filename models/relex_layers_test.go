package models

import (
	"fmt"
	"strings"
	"testing"
)

// The mlp and bilinear relations layers register the reference's keys and
// shapes (gliner/modeling/multitask/relations_layers.py) and run in the whole
// model, training and inference.
func TestRelexLayersInTheModel(t *testing.T) {
	want := map[string]map[string][]int{
		"mlp": {
			"relations_rep_layer.relation_rep_layer.mlp.0.weight": {32, 64}, "relations_rep_layer.relation_rep_layer.mlp.0.bias": {32},
			"relations_rep_layer.relation_rep_layer.mlp.2.weight": {1, 32}, "relations_rep_layer.relation_rep_layer.mlp.2.bias": {1},
		},
		"bilinear": {
			"relations_rep_layer.relation_rep_layer.proj.weight": {32, 32}, "relations_rep_layer.relation_rep_layer.proj.bias": {32},
		},
	}
	for layer, keys := range want {
		t.Run(layer, func(t *testing.T) {
			base, dir, _, _ := loadRelex(t)
			cfg := *base.Cfg
			cfg.RelationsLayer = &layer
			m, err := New(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			m.Initialize(3)
			n := 0
			for _, p := range m.Store.Params() {
				if strings.HasPrefix(p.Name, "relations_rep_layer.") {
					w, ok := keys[p.Name]
					if !ok || fmt.Sprint(p.Shape) != fmt.Sprint(w) {
						t.Errorf("%s %v, want %v (listed %v)", p.Name, p.Shape, w, ok)
					}
					n++
				}
			}
			if n != len(keys) {
				t.Errorf("%d relations_rep_layer parameters, want %d", n, len(keys))
			}
			out, err := m.Step(relexBatch(t, dir, true, cfg.MaxWidth))
			if err != nil {
				t.Fatal(err)
			}
			if s := out.Intermediates["relations_rep_layer_output"].Shape; fmt.Sprint(s) != "[2 4 4]" || !(out.Loss > 0) {
				t.Errorf("adjacency %v, loss %v", s, out.Loss)
			}
			trained := map[string]bool{}
			for _, p := range m.TrainedParams(relexBatch(t, dir, true, cfg.MaxWidth)) {
				trained[p.Name] = true
			}
			for k := range keys {
				if !trained[k] {
					t.Errorf("%s gets no gradient", k)
				}
			}
			inf, err := m.ForwardRelex(relexBatch(t, dir, false, cfg.MaxWidth), 0.5, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			if inf.Relex.N < 1 || inf.Relex.RelLogits.Shape[2] != 3 {
				t.Errorf("inference N %d rel_logits %v", inf.Relex.N, inf.Relex.RelLogits.Shape)
			}
		})
	}
}
