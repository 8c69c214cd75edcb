package models

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// RelexOutput is UniEncoderSpanRelex's inference output (the reference's
// rel_idx, rel_logits, rel_mask and entity_spans).
type RelexOutput struct {
	// E is the number of selected entities (max over the batch; may be 0)
	// and N the number of pair rows (at least 1).
	E, N int
	// EntitySpans (B,E,2): each selected entity's inclusive word span
	// (start, end); padding rows are (0, 0) with EntityMask false.
	EntitySpans []int64
	EntityMask  []bool
	// Adjacency (B,max(E,1),max(E,1)): the relations layer's scores.
	Adjacency autograd.Value
	// PairIdx (B,N,2): head and tail entity indices of each pair, −1 for
	// padding; PairMask (B,N) marks the real pairs.
	PairIdx  []int64
	PairMask []bool
	// RelLogits (B,N,R): pair × relation class scores (σ for probabilities).
	RelLogits autograd.Value
}

// ForwardRelex runs UniEncoderSpanRelex at inference: entities are the valid
// spans with max_c σ(logit) > threshold, pairs the ordered entity pairs with
// adjacency > adjacencyThreshold (gliner/modeling/base.py
// UniEncoderSpanRelexModel.forward). Forward uses the model's Relex()
// thresholds (0.5, 0.5 by default).
func (m *Model) ForwardRelex(b *data.Batch, threshold, adjacencyThreshold float64) (*Output, error) {
	if m.relexParts() == nil {
		return nil, fmt.Errorf("ForwardRelex: architecture %v has no relation head", m.Arch)
	}
	if m.Arch.TokenLevel() {
		return m.forwardTokenRelex(b, threshold, adjacencyThreshold)
	}
	c, err := m.run(b, false, nil)
	if err != nil {
		return nil, err
	}
	out, err := m.output(c)
	if err != nil {
		return nil, err
	}
	s := out.Logits.Shape
	B, W, K, C := s[0], s[1], s[2], s[3]
	S := W * K
	H := m.Cfg.HiddenSize
	if len(b.SpanMask.Data) != B*S || len(b.SpanIdx.Data) != 2*B*S {
		return nil, fmt.Errorf("relex batch: span_mask %v / span_idx %v, want (%d,%d) / (%d,%d,2)", b.SpanMask.Shape, b.SpanIdx.Shape, B, S, B, S)
	}
	// Entity selection (select_span_target_embedding).
	thr := float32(threshold)
	kept := make([][]int, B)
	E := 0
	for bi := 0; bi < B; bi++ {
		for n := 0; n < S; n++ {
			if !b.SpanMask.Data[bi*S+n] {
				continue
			}
			mx := float32(math.Inf(-1))
			for _, x := range out.Logits.F[(bi*S+n)*C : (bi*S+n+1)*C] {
				mx = max(mx, sigmoid32(x))
			}
			if mx > thr {
				kept[bi] = append(kept[bi], n)
			}
		}
		E = max(E, len(kept[bi]))
	}
	Epad := max(E, 1)
	spanRep := out.Intermediates["span_rep"].F
	p := &relexPlan{B: B, E: Epad}
	p.entMask = make([]float32, B*Epad)
	ent := make([]float32, B*Epad*H)
	ro := &RelexOutput{E: E, EntitySpans: make([]int64, B*E*2), EntityMask: make([]bool, B*E)}
	for bi, ks := range kept {
		for e, n := range ks {
			p.entMask[bi*Epad+e] = 1
			copy(ent[(bi*Epad+e)*H:(bi*Epad+e+1)*H], spanRep[(bi*S+n)*H:(bi*S+n+1)*H])
			ro.EntitySpans[(bi*E+e)*2] = b.SpanIdx.Data[(bi*S+n)*2]
			ro.EntitySpans[(bi*E+e)*2+1] = b.SpanIdx.Data[(bi*S+n)*2+1]
			ro.EntityMask[bi*E+e] = true
		}
	}
	out.Relex = ro
	if err := m.relexHeads(out, b, p, ent, adjacencyThreshold); err != nil {
		return nil, err
	}
	return out, nil
}

// relexHeads runs the inference relation heads on the packed entities
// ent (B,p.E,H) of a forward output: the adjacency, the pairs above
// adjacencyThreshold and their relation scores, into out.Relex.
func (m *Model) relexHeads(out *Output, b *data.Batch, p *relexPlan, ent []float32, adjacencyThreshold float64) error {
	ro := out.Relex
	B, Epad := p.B, p.E
	R := m.relPromptCount(b, b.InputIDs.Shape[1])
	if R == 0 {
		return nil
	}
	// Adjacency, then pairs above the threshold.
	hc, err := m.graph(shapeKey{B: B, E: Epad, stage: relexAdjacency})
	if err != nil {
		return err
	}
	if err := m.runHead(hc, p, ent, nil); err != nil {
		return err
	}
	adj, err := hc.m.Value(hc.logits)
	if err != nil {
		return err
	}
	p.setPairs(selectPairs(adj.F, B, Epad, adjacencyThreshold))
	p.R = R
	pc, err := m.graph(shapeKey{B: B, E: Epad, N: p.N, R: R, stage: relexPairs})
	if err != nil {
		return err
	}
	if err := m.runHead(pc, p, ent, out.Intermediates["rel_prompts_embedding"].F); err != nil {
		return err
	}
	for _, name := range []string{"relations_rep_layer_output", "pair_rep_layer_output"} {
		v, err := pc.m.Value(pc.named[name])
		if err != nil {
			return err
		}
		out.Intermediates[name] = copyValue(v)
	}
	ro.Adjacency = out.Intermediates["relations_rep_layer_output"]
	v, err := pc.m.Value(pc.logits)
	if err != nil {
		return err
	}
	ro.RelLogits = copyValue(v)
	ro.N = p.N
	ro.PairIdx = make([]int64, B*p.N*2)
	ro.PairMask = make([]bool, B*p.N)
	for i := range ro.PairMask {
		ro.PairMask[i] = p.pairMask[i] == 1
		if ro.PairMask[i] {
			ro.PairIdx[2*i], ro.PairIdx[2*i+1] = p.pairHead[i], p.pairTail[i]
		} else {
			ro.PairIdx[2*i], ro.PairIdx[2*i+1] = -1, -1
		}
	}
	return nil
}

func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func (m *Model) runHead(c *compiled, p *relexPlan, ent, q []float32) error {
	errs := []error{c.m.SetFloats("ent", ent, p.B, p.E, m.Cfg.HiddenSize), m.bindHeadInputs(c, p)}
	if q != nil {
		errs = append(errs, c.m.SetFloats("rel_prompts", q, p.B, p.R, m.Cfg.HiddenSize))
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("relex head: %w", err)
		}
	}
	return c.m.Run()
}

// DecodeRelations decodes the relations of a ForwardRelex output
// (gliner/decoding/decoder.py SpanRelexDecoder._decode_relations): ents are
// each text's decoded entities (Decode or DecodeAsReference on the same
// output); a pair's entities are mapped to the first decoded entity with the
// same span and pairs with an entity dropped by decoding are skipped; every
// relation class with σ(logit) > threshold yields a relation, in pair then
// class order. Class names are b.RelIDToClass.
func (m *Model) DecodeRelations(out *Output, b *data.Batch, ents [][]decode.Span, threshold float64) ([][]decode.Relation, error) {
	ro := out.Relex
	if ro == nil {
		return nil, fmt.Errorf("decode relations: the output has no relation scores (not a relex inference output)")
	}
	B := len(ents)
	if len(b.RelIDToClass) != B {
		return nil, fmt.Errorf("decode relations: %d relation label lists for %d texts", len(b.RelIDToClass), B)
	}
	rels := make([][]decode.Relation, B)
	if ro.RelLogits.F == nil {
		return rels, nil
	}
	R := ro.RelLogits.Shape[2]
	for bi := 0; bi < B; bi++ {
		spans := make([][2]int, 0, ro.E)
		for e := 0; e < ro.E && ro.EntityMask[bi*ro.E+e]; e++ {
			spans = append(spans, [2]int{int(ro.EntitySpans[(bi*ro.E+e)*2]), int(ro.EntitySpans[(bi*ro.E+e)*2+1])})
		}
		pairs := make([][2]int, ro.N)
		for n := range pairs {
			pairs[n] = [2]int{int(ro.PairIdx[(bi*ro.N+n)*2]), int(ro.PairIdx[(bi*ro.N+n)*2+1])}
		}
		probs := make([]float32, ro.N*R)
		for i := range probs {
			probs[i] = sigmoid32(ro.RelLogits.F[bi*ro.N*R+i])
		}
		var err error
		rels[bi], err = decode.Relations(ents[bi], spans, pairs, ro.PairMask[bi*ro.N:(bi+1)*ro.N], probs, R, b.RelIDToClass[bi], threshold)
		if err != nil {
			return nil, fmt.Errorf("decode relations: %s: %w", exampleName(b, bi), err)
		}
	}
	return rels, nil
}
