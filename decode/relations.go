package decode

import (
	"fmt"
)

// Relation is a decoded relation of one text: Head and Tail index the
// text's decoded entities, Label is the relation type, Score its
// probability.
type Relation struct {
	Head, Tail int
	Label      string
	Score      float32
}

// Relations decodes one text's relations (the reference's
// gliner/decoding/decoder.py SpanRelexDecoder._decode_relations). ents are
// the text's decoded entities; entitySpans the model's selected entities
// (inclusive word spans, in the model's entity order); pairs the model's
// (head, tail) entity indices with pairMask; probs (N, r) the σ of the
// relation logits; labels the relation types (class id i+1 = labels[i]). Each
// model entity maps to the first decoded entity with the same span; a pair
// with an unmapped (dropped) or padding entity is skipped; every class c <
// len(labels) with probability > threshold yields Relation{head, tail,
// labels[c], p}, in pair order then class order.
func Relations(ents []Span, entitySpans [][2]int, pairs [][2]int, pairMask []bool, probs []float32, r int, labels []string, threshold float64) ([]Relation, error) {
	if len(pairMask) != len(pairs) || len(probs) != len(pairs)*r {
		return nil, fmt.Errorf("relations: %d pairs, %d mask values, %d probabilities for %d classes", len(pairs), len(pairMask), len(probs), r)
	}
	first := map[[2]int]int{}
	for i, e := range ents {
		k := [2]int{e.Start, e.End}
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	toDecoded := make([]int, len(entitySpans))
	for e, s := range entitySpans {
		toDecoded[e] = -1
		if i, ok := first[s]; ok {
			toDecoded[e] = i
		}
	}
	mapped := func(e int) int {
		if e < 0 || e >= len(toDecoded) {
			return -1
		}
		return toDecoded[e]
	}
	thr := float32(threshold)
	var out []Relation
	for n, p := range pairs {
		if !pairMask[n] {
			continue
		}
		h, t := mapped(p[0]), mapped(p[1])
		if h < 0 || t < 0 {
			continue
		}
		for c := 0; c < r && c < len(labels); c++ {
			if pr := probs[n*r+c]; pr > thr {
				out = append(out, Relation{Head: h, Tail: t, Label: labels[c], Score: pr})
			}
		}
	}
	return out, nil
}

// RelationMetrics accumulates strict relation precision, recall and F1: a
// predicted relation is a true positive when a gold relation of the same
// document has the same type and the same head and tail entity spans
// (start and end; entity types are not compared). Like Metrics, relations
// are sets per document, counted per relation type; read Micro, PerLabel
// or Table.
type RelationMetrics struct {
	m      *Metrics
	labels map[string]bool
}

// NewRelationMetrics returns empty relation metrics. When labels is not
// nil it is the relation label list the model was asked for: a gold
// relation of another type is an error (it could never be predicted).
func NewRelationMetrics(labels []string) *RelationMetrics {
	r := &RelationMetrics{m: NewMetrics()}
	if labels != nil {
		r.labels = map[string]bool{}
		for _, l := range labels {
			r.labels[l] = true
		}
	}
	return r
}

type relKey struct {
	label                      string
	hStart, hEnd, tStart, tEnd int
}

func relKeys(ents []Span, rels []Relation, what string) (map[relKey]bool, error) {
	k := make(map[relKey]bool, len(rels))
	for i, r := range rels {
		if r.Head < 0 || r.Head >= len(ents) || r.Tail < 0 || r.Tail >= len(ents) {
			return nil, fmt.Errorf("%s relation %d [%d, %d, %q] refers to a missing entity (%d entities)", what, i, r.Head, r.Tail, r.Label, len(ents))
		}
		h, t := ents[r.Head], ents[r.Tail]
		k[relKey{r.Label, h.Start, h.End, t.Start, t.End}] = true
	}
	return k, nil
}

// Add counts one document (named doc in errors): predicted relations over
// predEnts against gold relations over goldEnts.
func (r *RelationMetrics) Add(doc string, predEnts []Span, pred []Relation, goldEnts []Span, gold []Relation) error {
	p, err := relKeys(predEnts, pred, "predicted")
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	g, err := relKeys(goldEnts, gold, "gold")
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	if r.labels != nil {
		for i, x := range gold {
			if !r.labels[x.Label] {
				return fmt.Errorf("%s: gold relation %d has type %q, which is not in the relation label list", doc, i, x.Label)
			}
		}
	}
	r.m.docs++
	for k := range p {
		c := r.m.label(k.label)
		c.pred++
		if g[k] {
			c.tp++
		}
	}
	for k := range g {
		r.m.label(k.label).gold++
	}
	return nil
}

// Docs is the number of documents added.
func (r *RelationMetrics) Docs() int { return r.m.Docs() }

// Micro returns the micro-averaged relation score.
func (r *RelationMetrics) Micro() Score { return r.m.Micro() }

// PerLabel returns the score of each relation type.
func (r *RelationMetrics) PerLabel() []Score { return r.m.PerLabel() }

// Table renders the per-type and micro scores as Metrics.Table does.
func (r *RelationMetrics) Table() string { return r.m.Table() }
