package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// negativePool is the reference's sampled_neg: at most this many distinct
// gold types of a batch form its shared negatives list.
const negativePool = 100

// EntityLabels returns the distinct entity labels of exs, sorted (nil when
// there are none): the label set of an evaluation on exs.
func EntityLabels(exs []Example) []string {
	var all []string
	for _, ex := range exs {
		for _, e := range ex.Entities {
			all = append(all, e.Label)
		}
	}
	return sortedDistinct(all)
}

// RelationLabels returns the distinct relation types of exs, sorted (nil
// when there are none).
func RelationLabels(exs []Example) []string {
	var all []string
	for _, ex := range exs {
		for _, r := range ex.Relations {
			all = append(all, r.Label)
		}
	}
	return sortedDistinct(all)
}

func sortedDistinct(v []string) []string {
	slices.Sort(v)
	return slices.Compact(v)
}

// DedupLabels removes repeated labels keeping the first occurrence, as the
// reference does with inference labels. Empty or whitespace-only labels are
// an error: they would add a prompt word without sub-tokens.
func DedupLabels(labels []string) ([]string, error) {
	seen := make(map[string]bool, len(labels))
	out := make([]string, 0, len(labels))
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("label %d is empty", i)
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// batchTypes is the union of the batch's gold types in first-appearance
// order (the reference builds it through a Python set, whose order is
// arbitrary; first appearance makes the draw reproducible).
func batchTypes(n int, types func(i int) []string) []string {
	seen := map[string]bool{}
	var out []string
	for i := range n {
		for _, t := range types(i) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// sampleWithoutReplacement draws min(k, len(pool)) distinct elements of pool
// in draw order (random.sample).
func sampleWithoutReplacement(rng *rand.Rand, pool []string, k int) []string {
	p := append([]string(nil), pool...)
	k = min(k, len(p))
	for i := range k {
		j := i + rng.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:k]
}

// exampleTypes is the per-example part of the reference's
// BaseProcessor.batch_generate_class_mappings (processor.py): gold ∪ negs
// (first appearance order) less the excluded types, shuffled, truncated to
// maxTypes.
func exampleTypes(rng *rand.Rand, gold, fixedNegs, negatives []string, nGold, r, maxTypes int, hasFixedNegs bool, exclude map[string]bool) []string {
	var negs []string
	if hasFixedNegs {
		negs = fixedNegs
	} else {
		negs = negatives[:min(len(negatives), nGold*r)]
	}
	seen := map[string]bool{}
	var types []string
	for _, list := range [][]string{gold, negs} {
		for _, t := range list {
			if !seen[t] && !exclude[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	rng.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
	if maxTypes > 0 && len(types) > maxTypes {
		types = types[:maxTypes]
	}
	return types
}

func entityLabels(ex *Example) []string {
	out := make([]string, len(ex.Entities))
	for i, e := range ex.Entities {
		out[i] = e.Label
	}
	return out
}

func relationLabels(ex *Example) []string {
	out := make([]string, len(ex.Relations))
	for i, r := range ex.Relations {
		out[i] = r.Label
	}
	return out
}

// sampleLabelSets draws the training class lists of a batch (processor.py
// BaseProcessor.batch_generate_class_mappings) from the collator's RNG: for
// uni-encoder, decoder and relex models one list per example (and one
// relation list per example for relex); for bi-encoders a single list shared
// by the batch.
func (c *Collator) sampleLabelSets(exs []Example) (ents, rels [][]string, err error) {
	cfg := &c.cfg
	if cfg.Architecture.BiEncoder() {
		set, err := c.biEncoderTypes(exs)
		if err != nil {
			return nil, nil, err
		}
		ents = make([][]string, len(exs))
		for i := range ents {
			ents[i] = set
		}
		return ents, nil, nil
	}
	relex := cfg.Architecture.Relex()
	var dropEnt, dropRel []map[string]bool
	if relex {
		// Augmentation changes the examples (exs is the collator's copy)
		// before any type is counted.
		dropEnt, dropRel = make([]map[string]bool, len(exs)), make([]map[string]bool, len(exs))
		for i := range exs {
			if len(exs[i].LabelSet) == 0 && len(exs[i].RelLabels) == 0 {
				dropEnt[i], dropRel[i] = c.augmentRelex(&exs[i])
			}
		}
	}
	pool := batchTypes(len(exs), func(i int) []string { return entityLabels(&exs[i]) })
	negatives := sampleWithoutReplacement(c.rng, pool, negativePool)
	var relNegatives []string
	if relex {
		rpool := batchTypes(len(exs), func(i int) []string { return relationLabels(&exs[i]) })
		relNegatives = sampleWithoutReplacement(c.rng, rpool, negativePool)
	}
	ents = make([][]string, len(exs))
	if relex {
		rels = make([][]string, len(exs))
	}
	for i := range exs {
		ex := &exs[i]
		r := 0
		if cfg.MaxNegTypeRatio > 0 {
			r = c.rng.IntN(cfg.MaxNegTypeRatio + 1)
		}
		if len(ex.LabelSet) > 0 {
			if ents[i], err = DedupLabels(ex.LabelSet); err != nil {
				return nil, nil, fmt.Errorf("%s: ner_labels: %w", collateName(ex, i), err)
			}
		} else {
			ents[i] = exampleTypes(c.rng, entityLabels(ex), ex.NegativeTypes, negatives,
				len(ex.Entities), r, cfg.MaxTypes, ex.NegativeTypes != nil, at(dropEnt, i))
		}
		if err := checkLabels(ents[i]); err != nil {
			return nil, nil, fmt.Errorf("%s: entity types: %w", collateName(ex, i), err)
		}
		if !relex {
			continue
		}
		if len(ex.RelLabels) > 0 {
			if rels[i], err = DedupLabels(ex.RelLabels); err != nil {
				return nil, nil, fmt.Errorf("%s: rel_labels: %w", collateName(ex, i), err)
			}
		} else {
			rels[i] = exampleTypes(c.rng, relationLabels(ex), ex.RelNegatives, relNegatives,
				len(ex.Relations), r, cfg.MaxTypes, ex.RelNegatives != nil, at(dropRel, i))
		}
		if err := checkLabels(rels[i]); err != nil {
			return nil, nil, fmt.Errorf("%s: relation types: %w", collateName(ex, i), err)
		}
	}
	return ents, rels, nil
}

// biEncoderTypes is the bi-encoder's one class list per batch: a label set
// given identically by every example, else the union of gold types and
// ner_negatives, shuffled, truncated to max_types·B (processor.py
// BaseBiEncoderProcessor.batch_generate_class_mappings).
func (c *Collator) biEncoderTypes(exs []Example) ([]string, error) {
	if len(exs) > 0 && len(exs[0].LabelSet) > 0 {
		for i := range exs {
			if !slices.Equal(exs[i].LabelSet, exs[0].LabelSet) {
				return nil, fmt.Errorf("%s: bi-encoder batches share one class map, but ner_labels differ from %s's",
					collateName(&exs[i], i), collateName(&exs[0], 0))
			}
		}
		return DedupLabels(exs[0].LabelSet)
	}
	for i := range exs {
		if len(exs[i].LabelSet) > 0 {
			return nil, fmt.Errorf("%s: bi-encoder batches share one class map, but only some examples give ner_labels",
				collateName(&exs[i], i))
		}
	}
	types := batchTypes(len(exs), func(i int) []string {
		return append(entityLabels(&exs[i]), exs[i].NegativeTypes...)
	})
	c.rng.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
	if m := c.cfg.MaxTypes * len(exs); c.cfg.MaxTypes > 0 && len(types) > m {
		types = types[:m]
	}
	if err := checkLabels(types); err != nil {
		return nil, err
	}
	return types, nil
}

func at(ms []map[string]bool, i int) map[string]bool {
	if ms == nil {
		return nil
	}
	return ms[i]
}

func checkLabels(ls []string) error {
	for i, l := range ls {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("label %d is empty", i)
		}
	}
	return nil
}

func collateName(ex *Example, i int) string {
	if ex.Source != "" {
		return fmt.Sprintf("example %d (%s)", i, ex.Source)
	}
	return fmt.Sprintf("example %d", i)
}
