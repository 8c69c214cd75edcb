package finetune

import (
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
	"go.uber.org/zap"
)

// RelexSection (model.relex) makes a new model a UniEncoderSpanRelex: joint
// entity and relation extraction (gliner/modeling/base.py
// UniEncoderSpanRelexModel). The names are the gliner_config.json fields; a
// field left out takes DefaultRelexSection's value. Training data then
// carries "relations".
type RelexSection struct {
	// RelationsLayer scores entity-pair adjacency: dot, mlp or bilinear.
	RelationsLayer string `yaml:"relations_layer"`
	// Total loss = span_loss_coef·span + adjacency_loss_coef·adjacency +
	// relation_loss_coef·relation.
	SpanLossCoef      float64 `yaml:"span_loss_coef"`
	AdjacencyLossCoef float64 `yaml:"adjacency_loss_coef"`
	RelationLossCoef  float64 `yaml:"relation_loss_coef"`
	// AugmentDataProb is the per-example probability of the relex training
	// augmentation (entity/relation type drops, processor.py
	// RelationExtractionSpanProcessor.augment_example).
	AugmentDataProb float64 `yaml:"augment_data_prob"`
}

// DefaultRelexSection is the reference's relex defaults.
func DefaultRelexSection() RelexSection {
	return RelexSection{RelationsLayer: "dot", SpanLossCoef: 1, AdjacencyLossCoef: 1, RelationLossCoef: 1, AugmentDataProb: 0.5}
}

// UnmarshalYAML decodes over the defaults and rejects unknown keys.
func (s *RelexSection) UnmarshalYAML(n *yaml.Node) error {
	if err := checkSectionKeys(n, reflect.TypeOf(RelexSection{}), "model.relex", "model.relex"); err != nil {
		return err
	}
	*s = DefaultRelexSection()
	type plain RelexSection
	return n.Decode((*plain)(s))
}

// validate checks the relex settings.
func (s *RelexSection) validate() error {
	if _, err := models.ParseRelationsLayer(s.RelationsLayer); err != nil {
		return fmt.Errorf("model.relex: %w", err)
	}
	for name, x := range map[string]float64{"span_loss_coef": s.SpanLossCoef, "adjacency_loss_coef": s.AdjacencyLossCoef, "relation_loss_coef": s.RelationLossCoef} {
		if !(x >= 0) {
			return fmt.Errorf("model.relex.%s %v must be ≥ 0", name, x)
		}
	}
	if !(s.AugmentDataProb >= 0 && s.AugmentDataProb <= 1) {
		return fmt.Errorf("model.relex.augment_data_prob %v must be in [0, 1]", s.AugmentDataProb)
	}
	return nil
}

// applyRelex writes the relex fields into a new model's config.
func applyRelex(c *models.Config, s *RelexSection) {
	if s == nil {
		return
	}
	layer := s.RelationsLayer
	c.RelationsLayer = &layer
	c.SpanLossCoef, c.AdjacencyLossCoef, c.RelationLossCoef = s.SpanLossCoef, s.AdjacencyLossCoef, s.RelationLossCoef
	c.AugmentDataProb = s.AugmentDataProb
}

// RelexTokens are the tokens appended to a new relex model's tokenizer, in
// order (gliner/model.py UniEncoderSpanRelexGLiNER._get_special_tokens).
var RelexTokens = []string{"<<ENT>>", "<<SEP>>", "<<REL>>"}

// addModelTokens appends the GLiNER tokens of a new model and returns
// class_token_index, rel_token_index (−1 unless relex) and vocab_size as
// the reference sets them: span models len−2 (after [FLERT] <<ENT>>
// <<SEP>>), relex len−3 and len−1 (after <<ENT>> <<SEP>> <<REL>>).
func addModelTokens(tok tokenizer.Tokenizer, relex bool) (classIdx, relIdx, vocab int, err error) {
	if !relex {
		classIdx, vocab, err = addGLiNERTokens(tok)
		return classIdx, -1, vocab, err
	}
	for _, t := range RelexTokens {
		if _, ok := tok.TokenToID(t); ok {
			return 0, 0, 0, fmt.Errorf("tokenizer already has %q: not a fresh encoder tokenizer", t)
		}
	}
	tok.AddSpecialTokens(RelexTokens...)
	n := tok.VocabSize()
	if id, _ := tok.TokenToID("<<ENT>>"); id != n-3 {
		return 0, 0, 0, fmt.Errorf("<<ENT>> got id %d, want len(tokenizer)−3 = %d", id, n-3)
	}
	if id, _ := tok.TokenToID("<<REL>>"); id != n-1 {
		return 0, 0, 0, fmt.Errorf("<<REL>> got id %d, want len(tokenizer)−1 = %d", id, n-1)
	}
	return n - 3, n - 1, n, nil
}

// RelationLabels returns the relation types of exs, sorted.
func RelationLabels(exs []data.Example) []string { return data.RelationLabels(exs) }

// EvaluateRelex scores a UniEncoderSpanRelex model on exs: entities as
// Evaluate does, and relations with decode.RelationMetrics (strict: type
// and both entity spans), every text prompted with the entity labels and
// relLabels; threshold is the entity, adjacency and relation threshold.
func EvaluateRelex(m *models.Model, col *data.Collator, exs []data.Example, labels, relLabels []string, batchSize int, threshold float64) (*decode.Metrics, *decode.RelationMetrics, error) {
	if batchSize < 1 {
		return nil, nil, fmt.Errorf("evaluate: batch size %d < 1", batchSize)
	}
	if len(labels) == 0 || len(relLabels) == 0 {
		return nil, nil, fmt.Errorf("evaluate: %d entity and %d relation labels: both are needed", len(labels), len(relLabels))
	}
	ents, rels := decode.NewMetrics(), decode.NewRelationMetrics(relLabels)
	opts := decode.Options{Threshold: threshold, FlatNER: true}
	for lo := 0; lo < len(exs); lo += batchSize {
		chunk := exs[lo:min(lo+batchSize, len(exs))]
		where := fmt.Sprintf("examples %d-%d", lo, lo+len(chunk)-1)
		b, err := col.Inference(chunk, labels, relLabels)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		out, err := m.ForwardRelex(b, threshold, threshold)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: forward: %w", where, err)
		}
		pred, err := m.Decode(out, b, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		predRels, err := m.DecodeRelations(out, b, pred, threshold)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		for i, ex := range chunk {
			var gold []decode.Span
			for _, e := range ex.Entities {
				gold = append(gold, decode.Span{Start: e.Start, End: e.End, Label: e.Label})
			}
			var goldRels []decode.Relation
			for _, r := range ex.Relations {
				goldRels = append(goldRels, decode.Relation{Head: r.Head, Tail: r.Tail, Label: r.Label})
			}
			ents.Add(pred[i], gold)
			name := ex.Source
			if name == "" {
				name = fmt.Sprintf("example %d", lo+i)
			}
			if err := rels.Add(name, pred[i], predRels[i], gold, goldRels); err != nil {
				return nil, nil, fmt.Errorf("evaluate: %w", err)
			}
		}
	}
	return ents, rels, nil
}

// evaluateModel is the dev evaluation of Run: Evaluate for entity models;
// for relex models EvaluateRelex over the dev set's relation types, the
// relation scores logged and the entity metrics returned (they choose the
// best checkpoint).
func evaluateModel(m *models.Model, col *data.Collator, ds *Datasets, batchSize int, threshold float64, lg *zap.Logger) (*decode.Metrics, *decode.RelationMetrics, error) {
	if !m.Arch.Relex() {
		ents, _, err := Evaluate(m, col, ds.Dev, ds.Labels, batchSize, threshold)
		return ents, nil, err
	}
	ents, rels, err := EvaluateRelex(m, col, ds.Dev, ds.Labels, RelationLabels(ds.Dev), batchSize, threshold)
	if err != nil {
		return nil, nil, err
	}
	mi := rels.Micro()
	lg.Info("dev relations", zap.Float64("precision", mi.Precision), zap.Float64("recall", mi.Recall), zap.Float64("f1", mi.F1),
		zap.Int("tp", mi.TP), zap.Int("predicted", mi.Predicted), zap.Int("gold", mi.Gold))
	return ents, rels, nil
}
