package data

import (
	"sort"
)

// sortRelexEntities sorts entities by (start, end), stably, remaps the
// relations' head and tail to the new order and sorts the relations by
// (head, tail), as the reference's relex processor does.
func sortRelexEntities(ents []Entity, rels []Relation) ([]Entity, []Relation) {
	order := make([]int, len(ents))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ea, eb := ents[order[a]], ents[order[b]]
		if ea.Start != eb.Start {
			return ea.Start < eb.Start
		}
		return ea.End < eb.End
	})
	newIdx := make([]int, len(ents))
	sorted := make([]Entity, len(ents))
	for n, o := range order {
		newIdx[o] = n
		sorted[n] = ents[o]
	}
	out := make([]Relation, len(rels))
	for i, r := range rels {
		out[i] = Relation{Head: newIdx[r.Head], Tail: newIdx[r.Tail], Label: r.Label}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Head != out[b].Head {
			return out[a].Head < out[b].Head
		}
		return out[a].Tail < out[b].Tail
	})
	return sorted, out
}

type entPair struct{ h, t int }

// buildRelexTargets fills AdjMatrix and RelMatrix (processor.py
// RelationExtractionSpanProcessor.create_relation_labels): per example the
// gold pairs, negative candidates (every reversed gold pair that is not
// itself gold, then random ordered pairs until max(1, int(n_pos·U(1,10)))
// negatives or 10× that many attempts), all pairs sorted; adj = 1 for every
// pair, rel[p, r−1] = 1 for each gold type of pair p.
func (c *Collator) buildRelexTargets(b *Batch, exs []Example) {
	bs := b.B()
	pairs := make([][]entPair, bs)
	types := make([]map[entPair][]int, bs)
	emax, pmax, rmax := 0, 0, 0
	for i := range bs {
		ex := &exs[i]
		b.Entities[i] = ex.Entities
		n := len(ex.Entities)
		emax = max(emax, n)
		rmax = max(rmax, len(b.RelIDToClass[i]))
		relID := make(map[string]int, len(b.RelIDToClass[i]))
		for j, l := range b.RelIDToClass[i] {
			relID[l] = j
		}
		pos := map[entPair]bool{}
		types[i] = map[entPair][]int{}
		var posList []entPair
		for _, r := range ex.Relations {
			p := entPair{r.Head, r.Tail}
			if !pos[p] {
				pos[p] = true
				posList = append(posList, p)
			}
			if id, ok := relID[r.Label]; ok {
				types[i][p] = append(types[i][p], id)
			} else {
				b.Stats.UnlabeledRelClass++
			}
		}
		neg := map[entPair]bool{}
		var negList []entPair
		for _, p := range posList {
			q := entPair{p.t, p.h}
			if !pos[q] && !neg[q] && q.h != q.t {
				neg[q] = true
				negList = append(negList, q)
			}
		}
		if n >= 2 {
			target := max(1, int(float64(len(posList))*(1+9*c.rng.Float64())))
			for attempt := 0; len(negList) < target && attempt < 10*target; attempt++ {
				q := entPair{c.rng.IntN(n), c.rng.IntN(n)}
				if q.h == q.t || pos[q] || neg[q] {
					continue
				}
				neg[q] = true
				negList = append(negList, q)
			}
		}
		all := append(posList, negList...)
		sort.Slice(all, func(x, y int) bool {
			if all[x].h != all[y].h {
				return all[x].h < all[y].h
			}
			return all[x].t < all[y].t
		})
		pairs[i] = all
		pmax = max(pmax, len(all))
	}
	b.AdjMatrix = NewTensor[float32](bs, emax, emax)
	b.RelMatrix = NewTensor[float32](bs, pmax, rmax)
	for i := range bs {
		for p, pr := range pairs[i] {
			b.AdjMatrix.Data[(i*emax+pr.h)*emax+pr.t] = 1
			for _, r := range types[i][pr] {
				b.RelMatrix.Data[(i*pmax+p)*rmax+r] = 1
			}
		}
	}
}

// augmentRelex is the relex processor's training augmentation (processor.py
// RelationExtractionSpanProcessor.augment_example), applied to one example
// with probability augment_data_prob: pe ~ U(augment_ent_drop_prob), pr ~
// U(augment_rel_drop_prob), add_other ~ Bernoulli(augment_add_other_prob);
// each entity type except "other" is dropped with probability pe and each
// relation type with probability pr (types visited in first-appearance
// order). Entities of a dropped type go, unless they take part in a kept
// relation and add_other, in which case they become "other"; relations of
// dropped types or with removed endpoints go; indices are remapped. It
// returns the dropped types, which the example's label sets must then
// exclude.
func (c *Collator) augmentRelex(ex *Example) (droppedEnt, droppedRel map[string]bool) {
	cfg := &c.cfg
	if cfg.AugmentDataProb <= 0 || c.rng.Float64() >= cfg.AugmentDataProb {
		return nil, nil
	}
	uniform := func(r [2]float64) float64 { return r[0] + (r[1]-r[0])*c.rng.Float64() }
	pe, pr := uniform(cfg.AugmentEntDropProb), uniform(cfg.AugmentRelDropProb)
	addOther := c.rng.Float64() < cfg.AugmentAddOtherProb
	droppedEnt, droppedRel = map[string]bool{}, map[string]bool{}
	for _, t := range batchTypes(1, func(int) []string { return entityLabels(ex) }) {
		if t != otherType && c.rng.Float64() < pe {
			droppedEnt[t] = true
		}
	}
	for _, t := range batchTypes(1, func(int) []string { return relationLabels(ex) }) {
		if c.rng.Float64() < pr {
			droppedRel[t] = true
		}
	}
	if len(droppedEnt) == 0 && len(droppedRel) == 0 {
		return droppedEnt, droppedRel
	}
	inKept := make([]bool, len(ex.Entities))
	for _, r := range ex.Relations {
		if !droppedRel[r.Label] {
			inKept[r.Head], inKept[r.Tail] = true, true
		}
	}
	newIdx := make([]int, len(ex.Entities))
	var ents []Entity
	for i, e := range ex.Entities {
		newIdx[i] = -1
		if droppedEnt[e.Label] {
			if !inKept[i] || !addOther {
				continue
			}
			e.Label = otherType
		}
		newIdx[i] = len(ents)
		ents = append(ents, e)
	}
	var rels []Relation
	for _, r := range ex.Relations {
		h, t := newIdx[r.Head], newIdx[r.Tail]
		if droppedRel[r.Label] || h < 0 || t < 0 {
			continue
		}
		rels = append(rels, Relation{Head: h, Tail: t, Label: r.Label})
	}
	ex.Entities, ex.Relations = ents, rels
	return droppedEnt, droppedRel
}

// otherType is the label augmentation gives entities of a dropped type that
// still take part in a kept relation.
const otherType = "other"
