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

// buildRelexTargets fills AdjMatrix and RelMatrix (§4.6): per example the
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
