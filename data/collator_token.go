package data

import "sort"

// tokenSpanKey orders a token model's gold spans by (start, end) when
// sorted as decoderSpan.flat.
func tokenSpanKey(start, end int) int { return start<<20 | end }

// keepTokenRelexEntities keeps, per example, the gold entities the token
// relex processor indexes (gliner/data_processing/processor.py
// RelationExtractionTokenProcessor.preprocess_example): label in the
// example's class map and end inside the text, in their sorted order; the
// relations are remapped to those entities and dropped when an endpoint is
// not kept or their type is not in the relation class map.
func keepTokenRelexEntities(b *Batch, exs []Example) {
	for i := range exs {
		classID := make(map[string]bool, len(b.IDToClass[i]))
		for _, l := range b.IDToClass[i] {
			classID[l] = true
		}
		relID := map[string]bool{}
		if i < len(b.RelIDToClass) {
			for _, l := range b.RelIDToClass[i] {
				relID[l] = true
			}
		}
		n := len(b.Words[i])
		ex := &exs[i]
		newIdx := make([]int, len(ex.Entities))
		var ents []Entity
		for j, e := range ex.Entities {
			newIdx[j] = -1
			if classID[e.Label] && e.End < n {
				newIdx[j] = len(ents)
				ents = append(ents, e)
			}
		}
		var rels []Relation
		for _, r := range ex.Relations {
			h, t := newIdx[r.Head], newIdx[r.Tail]
			if h < 0 || t < 0 || !relID[r.Label] {
				continue
			}
			rels = append(rels, Relation{Head: h, Tail: t, Label: r.Label})
		}
		ex.Entities, ex.Relations = ents, rels
	}
}

// tokenRelexSpans fills a token relex training batch's entity slots
// (processor.py RelationExtractionTokenProcessor.create_batch_dict):
// span_idx (B,E,2) and span_mask (B,E) hold each example's kept gold
// entities in the order adj_matrix and rel_matrix index them, E the most
// entities of an example (the adj_matrix size).
func tokenRelexSpans(b *Batch, exs []Example) {
	bs := b.B()
	e := 0
	if len(b.AdjMatrix.Shape) == 3 {
		e = b.AdjMatrix.Shape[1]
	}
	b.SpanIdx = NewTensor[int64](bs, e, 2)
	b.SpanMask = NewTensor[bool](bs, e)
	for i := range bs {
		for j, x := range exs[i].Entities {
			if j >= e {
				break
			}
			n := i*e + j
			b.SpanIdx.Data[2*n], b.SpanIdx.Data[2*n+1] = int64(x.Start), int64(x.End)
			b.SpanMask.Data[n] = true
		}
	}
}

// sortSpanRows orders a token decoder's gold span rows by (start, end),
// stably, so that they pair with the decoder label strings, which the
// reference sorts that way (processor.py
// UniEncoderTokenDecoderProcessor.create_labels) while its span rows follow
// the order of ner (UniEncoderTokenProcessor.prepare_span_idx).
func sortSpanRows[T any](rows []T, key func(T) int) {
	sort.SliceStable(rows, func(x, y int) bool { return key(rows[x]) < key(rows[y]) })
}
