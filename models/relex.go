package models

import (
	"fmt"
	"math"
	"strings"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/layers"
	"github.com/gliner-go/gliner/losses"
)

// UniEncoderSpanRelex (gliner/modeling/base.py UniEncoderSpanRelexModel):
// UniEncoderSpan's entity head plus relation extraction. Entities are
// selected spans (gold spans in training, σ(logits) > threshold at inference)
// packed to (B,E,H); the relations layer scores an adjacency (B,E,E); entity
// pairs whose adjacency passes adjacency_threshold (the gold adj_matrix in
// training) go through pair_rep_layer = MLP4(2H→H) on [head; tail] and are
// scored against the raw <<REL>> token embeddings: rel_logits (B,N,R).
//
// Training runs one graph (the selections are known from the targets).
// Inference runs the entity graph, selects entities from its logits, then
// two small head graphs over the packed entities: one for the adjacency
// (to select pairs), one for the pair scores.

// RelationsLayer is the adjacency scorer of relations_layer.
type RelationsLayer int

// Relations layers implemented here (the reference's attention, gcn and
// gat modes, "none" and triples_layer are not).
const (
	// RelationsDot is σ(X Xᵀ) (no parameters).
	RelationsDot RelationsLayer = iota
	// RelationsMLP is σ(mlp.2(ReLU(mlp.0([x_i; x_j])))), mlp.0 (H,2H), mlp.2 (1,H).
	RelationsMLP
	// RelationsBilinear is σ(Z Zᵀ) with Z = proj(X), proj (H,H).
	RelationsBilinear
)

var relationsLayerNames = []string{"dot", "mlp", "bilinear"}

func (r RelationsLayer) String() string { return relationsLayerNames[r] }

// ParseRelationsLayer parses a relations_layer value (case-insensitive).
func ParseRelationsLayer(s string) (RelationsLayer, error) {
	for i, n := range relationsLayerNames {
		if strings.EqualFold(s, n) {
			return RelationsLayer(i), nil
		}
	}
	return 0, fmt.Errorf("relations_layer %q is not supported (supported: %s; the reference's attention, gcn, gat and none are not implemented)",
		s, strings.Join(relationsLayerNames, ", "))
}

// relexStage names the relex graphs of one batch shape.
type relexStage int

const (
	// relexFull: encoder, entity head and rel prompts; in training also
	// the relation head and the three losses.
	relexFull relexStage = iota
	// relexAdjacency: packed entities → adjacency (inference).
	relexAdjacency
	// relexPairs: packed entities, pairs and rel prompts → rel_logits
	// (inference).
	relexPairs
)

// RelexSettings are UniEncoderSpanRelex's run-time settings.
type RelexSettings struct {
	// Threshold selects entities at inference (σ(logit) > Threshold) in
	// Forward; AdjacencyThreshold selects entity pairs (A > it). Both
	// default to 0.5 as in the reference's forward.
	Threshold, AdjacencyThreshold float64
	// RelAlpha and RelGamma, when set, replace Loss.Alpha and Loss.Gamma
	// in the adjacency and relation losses (the reference's rel_alpha,
	// rel_gamma).
	RelAlpha, RelGamma *float32
}

type relexParts struct {
	RelexSettings
	layer RelationsLayer
	mlp0  *layers.Linear // mlp: (H,2H)
	mlp2  *layers.Linear // mlp: (1,H)
	proj  *layers.Linear // bilinear: (H,H)
	pair  *layers.Projection
}

// Relex returns the relex settings (nil for other architectures); change
// them in place.
func (m *Model) Relex() *RelexSettings {
	r := m.relexParts()
	if r == nil {
		return nil
	}
	return &r.RelexSettings
}

// spanRelexHead is UniEncoderSpanRelex's head: the span head and the
// relation head.
type spanRelexHead struct {
	spanParts
	relexPart
}

func newSpanRelex(m *Model) (archHead, error) {
	if err := firstErr(m.addTextEncoder, m.addRNN); err != nil {
		return nil, err
	}
	sp, err := m.newSpanParts()
	if err != nil {
		return nil, err
	}
	rp, err := m.newRelexPart()
	return &spanRelexHead{spanParts: sp, relexPart: rp}, err
}

func (h *spanRelexHead) plan(m *Model, k *shapeKey, b *data.Batch, p *batchPlan) error {
	var err error
	*k, err = m.relexKey(*k, b, p)
	return err
}

func (h *spanRelexHead) bind(m *Model, c *compiled, k shapeKey, b *data.Batch, p *batchPlan) error {
	return m.bindRelex(c, k, b, p)
}

// newRelexPart registers the relations layer and pair_rep_layer (both
// relex architectures).
func (m *Model) newRelexPart() (relexPart, error) {
	cfg := m.Cfg
	if cfg.TriplesLayer != nil {
		return relexPart{}, fmt.Errorf("gliner config: triples_layer %q is not supported yet", *cfg.TriplesLayer)
	}
	if cfg.RelTokenIndex < 0 {
		return relexPart{}, fmt.Errorf("gliner config: rel_token_index %d: the <<REL>> token id is required", cfg.RelTokenIndex)
	}
	layer, err := ParseRelationsLayer(*cfg.RelationsLayer)
	if err != nil {
		return relexPart{}, fmt.Errorf("gliner config: %w", err)
	}
	r, err := newRelexParts(m.Store, layer, cfg.HiddenSize, cfg.Dropout)
	if err != nil {
		return relexPart{}, err
	}
	return relexPart{relex: r}, nil
}

// newRelexParts registers the relations layer's and pair_rep_layer's
// parameters.
func newRelexParts(s *autograd.Store, layer RelationsLayer, H int, dropout float64) (*relexParts, error) {
	r := &relexParts{layer: layer, RelexSettings: RelexSettings{Threshold: 0.5, AdjacencyThreshold: 0.5}}
	const pre = "relations_rep_layer.relation_rep_layer"
	var err error
	switch layer {
	case RelationsMLP:
		if r.mlp0, err = layers.NewLinear(s, pre+".mlp.0", 2*H, H, true, nil); err != nil {
			return nil, err
		}
		if r.mlp2, err = layers.NewLinear(s, pre+".mlp.2", H, 1, true, nil); err != nil {
			return nil, err
		}
	case RelationsBilinear:
		if r.proj, err = layers.NewLinear(s, pre+".proj", H, H, true, nil); err != nil {
			return nil, err
		}
	}
	if r.pair, err = layers.NewProjection(s, "pair_rep_layer", 2*H, H, dropout); err != nil {
		return nil, err
	}
	return r, nil
}

func (h *spanRelexHead) build(b *builder) {
	switch b.k.stage {
	case relexAdjacency, relexPairs:
		b.relexHeadOnly(h.relex)
		return
	}
	k := b.k
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.spanHead(h.spanParts, words, prompts, b.m.lossAsWritten)
	if k.R == 0 {
		return
	}
	// Relation prompts: the raw token embeddings at <<REL>> (no projection).
	q := b.keep("rel_prompts_embedding", autograd.GatherRows(tok, b.intInput("rel_prompt_idx", k.B, k.R)))
	if !k.train {
		return
	}
	H := b.m.Cfg.HiddenSize
	span := autograd.Reshape(b.c.named["span_rep"], k.B, k.W*b.m.Cfg.MaxWidth, H)
	ent := autograd.GatherRows(span, b.intInput("ent_idx", k.B, k.E))
	entMask := b.floatInput("ent_mask", k.B, k.E)
	adj := b.relexAdjacency(h.relex, ent, entMask)
	relLogits := b.relexPairs(h.relex, ent, q)
	m := b.m
	adjLabels := b.floatInput("adj_matrix", k.B, k.E, k.E)
	relLabels := b.floatInput("rel_matrix", k.B, k.N, k.R)
	pairMask := b.floatInput("pair_mask", k.B, k.N)
	relPromptsMask := b.floatInput("rel_prompts_mask", k.B, k.R)
	adjLoss := b.g.Apply(&adjLossK{dyn: m.relexLossOptions, rng: m.rng}, adj, adjLabels, entMask)
	relLoss := b.g.Apply(&relLossK{dyn: m.relexLossOptions, rng: m.rng}, relLogits, relLabels, pairMask, relPromptsMask)
	cfg := m.Cfg
	// Total = span_loss_coef·span + adjacency_loss_coef·adj +
	// relation_loss_coef·rel (UniEncoderSpanRelexModel.forward).
	b.c.loss = LossSum([]float32{float32(cfg.SpanLossCoef), float32(cfg.AdjacencyLossCoef), float32(cfg.RelationLossCoef)},
		b.c.loss, adjLoss, relLoss)
}

// relexHeadOnly builds the inference head graphs of the relation head r
// over packed entities given as inputs.
func (b *builder) relexHeadOnly(r *relexParts) {
	k, H := b.k, b.m.Cfg.HiddenSize
	ent := b.floatInput("ent", k.B, k.E, H)
	entMask := b.floatInput("ent_mask", k.B, k.E)
	adj := b.relexAdjacency(r, ent, entMask)
	b.c.logits = adj
	if k.stage == relexPairs {
		q := b.floatInput("rel_prompts", k.B, k.R, H)
		b.c.logits = b.relexPairs(r, ent, q)
	}
}

// relexAdjacency scores entity pairs (B,E,E) with r's relations layer,
// masked by m_i·m_j, kept as relations_rep_layer_output.
func (b *builder) relexAdjacency(r *relexParts, ent, entMask *autograd.Node) *autograd.Node {
	k := b.k
	var x *autograd.Node
	switch r.layer {
	case RelationsDot:
		x = autograd.BatchMatMulNT(ent, ent)
	case RelationsBilinear:
		z := r.proj.Forward(b.g, ent)
		x = autograd.BatchMatMulNT(z, z)
	case RelationsMLP:
		xi := autograd.GatherRows(ent, b.intInput("adj_i", k.B, k.E*k.E))
		xj := autograd.GatherRows(ent, b.intInput("adj_j", k.B, k.E*k.E))
		h := autograd.ReLU(r.mlp0.Forward(b.g, autograd.Concat(xi, xj)))
		x = autograd.Reshape(r.mlp2.Forward(b.g, h), k.B, k.E, k.E)
	}
	return b.keep("relations_rep_layer_output", SigmoidPairMask(x, entMask))
}

// relexPairs scores the selected pairs (B,N) against the relation prompts
// q (B,R,H) with r's pair_rep_layer: rel_logits (B,N,R), kept with
// pair_rep_layer_output.
func (b *builder) relexPairs(r *relexParts, ent, q *autograd.Node) *autograd.Node {
	k := b.k
	head := autograd.GatherRows(ent, b.intInput("pair_head", k.B, k.N))
	tail := autograd.GatherRows(ent, b.intInput("pair_tail", k.B, k.N))
	pair := b.keep("pair_rep_layer_output", r.pair.Forward(b.g, autograd.Concat(head, tail)))
	return b.keep("rel_logits", autograd.BatchMatMulNT(pair, q))
}

// relexLossOptions are the adjacency and relation losses' options: the
// model's, with rel_alpha / rel_gamma when set.
func (m *Model) relexLossOptions() losses.Options {
	o := m.Loss
	r := m.relexParts()
	if a := r.RelAlpha; a != nil {
		o.Alpha = *a
	}
	if g := r.RelGamma; g != nil {
		o.Gamma = *g
	}
	return o
}

// relexPlan is a batch's entity and pair selection, padded: entIdx (B,E)
// flat span indices (−1 pad), pairs (B,N) head/tail entity indices.
type relexPlan struct {
	B, E, N, R int
	entIdx     []int64
	entMask    []float32
	pairHead   []int64
	pairTail   []int64
	pairMask   []float32
	adj, rel   []float32 // training targets fitted to (B,E,E), (B,N,R)
}

// relPromptCount counts <<REL>> tokens per example.
func (m *Model) relPromptCount(b *data.Batch, T int) int {
	tokID := int64(m.Cfg.RelTokenIndex)
	r := 0
	for bi := 0; bi < len(b.InputIDs.Data)/T; bi++ {
		n := 0
		for t := 0; t < T; t++ {
			if b.InputIDs.Data[bi*T+t] == tokID {
				n++
			}
		}
		r = max(r, n)
	}
	return r
}

// relexKey adds the relex sizes to a batch's shape key: R (relation
// prompts) always; in training E and N from the targets, whose selection
// goes into bp.
func (m *Model) relexKey(k shapeKey, b *data.Batch, bp *batchPlan) (shapeKey, error) {
	k.stage = relexFull
	k.R = m.relPromptCount(b, k.T)
	if !bp.train || k.R == 0 {
		return k, nil
	}
	if b.RelMatrix.Shape == nil || b.AdjMatrix.Shape == nil {
		// The reference returns the plain span loss then
		// (UniEncoderSpanRelexModel.forward).
		k.R = 0
		return k, nil
	}
	if n := b.Stats.UnlabeledRelClass; n > 0 {
		return k, fmt.Errorf("relex batch: %d gold relation(s) have a type outside the relation label list (the collator could not represent them)", n)
	}
	p, err := m.trainPlan(b, k)
	if err != nil {
		return k, err
	}
	bp.relex = p
	k.E, k.N = p.E, p.N
	return k, nil
}

// trainPlan selects the gold spans as entities and the adj_matrix pairs.
func (m *Model) trainPlan(b *data.Batch, k shapeKey) (*relexPlan, error) {
	S := k.W * m.Cfg.MaxWidth
	if len(b.Labels.Data) != k.B*S*k.C {
		return nil, fmt.Errorf("relex batch: labels have shape %v, want (%d,%d,%d)", b.Labels.Shape, k.B, S, k.C)
	}
	kept := make([][]int64, k.B)
	E := 0
	for bi := range kept {
		for s := 0; s < S; s++ {
			row := b.Labels.Data[(bi*S+s)*k.C : (bi*S+s+1)*k.C]
			mx := float32(math.Inf(-1))
			for _, v := range row {
				mx = max(mx, v)
			}
			if mx == 1 {
				kept[bi] = append(kept[bi], int64(s))
			}
		}
		E = max(E, len(kept[bi]))
	}
	as := b.AdjMatrix.Shape
	if len(as) != 3 || as[0] != k.B || as[1] != as[2] || len(b.AdjMatrix.Data) != k.B*as[1]*as[1] {
		return nil, fmt.Errorf("relex batch: adj_matrix has shape %v, want (B=%d,E,E)", as, k.B)
	}
	Ea := as[1]
	rs := b.RelMatrix.Shape
	if len(rs) != 3 || rs[0] != k.B || len(b.RelMatrix.Data) != rs[0]*rs[1]*rs[2] {
		return nil, fmt.Errorf("relex batch: rel_matrix has shape %v, want (B=%d,N,R)", rs, k.B)
	}
	if rs[2] > k.R {
		return nil, fmt.Errorf("relex batch: rel_matrix has %d relation types but the prompts hold %d <<REL>> tokens", rs[2], k.R)
	}
	for bi := 0; bi < k.B && bi < len(b.RelIDToClass); bi++ {
		if rs[2] > 0 && len(b.RelIDToClass[bi]) > rs[2] {
			return nil, fmt.Errorf("relex batch: %s: %d relation types, rel_matrix has %d columns", exampleName(b, bi), len(b.RelIDToClass[bi]), rs[2])
		}
	}
	Epad := max(E, 1)
	p := &relexPlan{B: k.B, E: Epad, R: k.R}
	p.entIdx = make([]int64, k.B*Epad)
	p.entMask = make([]float32, k.B*Epad)
	p.adj = make([]float32, k.B*Epad*Epad)
	types := make([]map[[2]int][]float32, k.B)
	adjThr := m.relexParts().AdjacencyThreshold
	thr := float32(adjThr)
	for bi := range kept {
		for e := 0; e < Epad; e++ {
			p.entIdx[bi*Epad+e] = -1
			if e < len(kept[bi]) {
				p.entIdx[bi*Epad+e] = kept[bi][e]
				p.entMask[bi*Epad+e] = 1
			}
		}
		toModel, err := m.entityMap(b, bi, kept[bi], Ea, E)
		if err != nil {
			return nil, err
		}
		// The collator's pairs are the adj_matrix entries in row-major order;
		// rel_matrix row n holds the types of the n-th. Each is moved to the
		// model's entity indices (the identity unless gold entities share a
		// span or have none: processor.py
		// RelationExtractionSpanProcessor.create_relation_labels).
		types[bi] = map[[2]int][]float32{}
		n := 0
		for i := 0; i < Ea; i++ {
			for j := 0; j < Ea; j++ {
				if i == j || b.AdjMatrix.Data[(bi*Ea+i)*Ea+j] <= thr {
					continue
				}
				var row []float32
				if n < rs[1] {
					row = b.RelMatrix.Data[(bi*rs[1]+n)*rs[2] : (bi*rs[1]+n+1)*rs[2]]
				}
				n++
				positive := false
				for _, v := range row {
					positive = positive || v != 0
				}
				mi, mj := toModel[i], toModel[j]
				if mi < 0 || mj < 0 || mi == mj {
					if positive {
						return nil, fmt.Errorf("relex batch: %s: a gold relation between entities %d and %d cannot be scored: "+
							"an entity has no labelled span of its own (wider than max_width, type outside the label set, or both on one span)",
							exampleName(b, bi), i, j)
					}
					continue // a sampled negative pair of such an entity
				}
				p.adj[(bi*Epad+mi)*Epad+mj] = 1
				key := [2]int{mi, mj}
				t := types[bi][key]
				if t == nil {
					t = make([]float32, k.R)
					types[bi][key] = t
				}
				for r, v := range row {
					t[r] = max(t[r], v)
				}
			}
		}
		if n > rs[1] && rs[2] > 0 {
			return nil, fmt.Errorf("relex batch: %s: adj_matrix marks %d pairs, rel_matrix has %d rows", exampleName(b, bi), n, rs[1])
		}
	}
	pairs := selectPairs(p.adj, k.B, Epad, adjThr)
	p.setPairs(pairs)
	p.rel = make([]float32, k.B*p.N*k.R)
	for bi, ps := range pairs {
		for n, pr := range ps {
			copy(p.rel[(bi*p.N+n)*k.R:(bi*p.N+n+1)*k.R], types[bi][pr])
		}
	}
	return p, nil
}

// entityMap maps example bi's adj_matrix entity indices (0..Ea−1) to the
// model's entities (its labelled spans kept, in flat span order): through
// the gold entities' spans when the batch has them (−1 for an entity with
// no labelled span), else the identity, which needs Ea to equal the
// number of entities the labels select.
func (m *Model) entityMap(b *data.Batch, bi int, kept []int64, Ea, E int) ([]int, error) {
	out := make([]int, Ea)
	if bi >= len(b.Entities) || b.Entities[bi] == nil {
		if Ea != E {
			return nil, fmt.Errorf("relex batch: adj_matrix is over %d entities, the labels select %d, and the batch has no gold entities to align them", Ea, E)
		}
		for i := range out {
			out[i] = -1
			if i < len(kept) {
				out[i] = i
			}
		}
		return out, nil
	}
	ents := b.Entities[bi]
	if len(ents) > Ea {
		return nil, fmt.Errorf("relex batch: %s: %d gold entities, adj_matrix is over %d", exampleName(b, bi), len(ents), Ea)
	}
	K := m.Cfg.MaxWidth
	pos := make(map[int64]int, len(kept))
	for e, s := range kept {
		pos[s] = e
	}
	for i := range out {
		out[i] = -1
		if i < len(ents) {
			if w := ents[i].End - ents[i].Start; w >= 0 && w < K {
				if e, ok := pos[int64(ents[i].Start*K+w)]; ok {
					out[i] = e
				}
			}
		}
	}
	return out, nil
}

func exampleName(b *data.Batch, i int) string {
	if i < len(b.Sources) && b.Sources[i] != "" {
		return b.Sources[i]
	}
	return fmt.Sprintf("example %d", i)
}

// selectPairs lists, per example, the ordered pairs (i,j), i≠j, in
// row-major order with adj[i,j] > threshold (build_entity_pairs).
func selectPairs(adj []float32, B, E int, threshold float64) [][][2]int {
	out := make([][][2]int, B)
	thr := float32(threshold)
	for bi := range out {
		for i := 0; i < E; i++ {
			for j := 0; j < E; j++ {
				if i != j && adj[(bi*E+i)*E+j] > thr {
					out[bi] = append(out[bi], [2]int{i, j})
				}
			}
		}
	}
	return out
}

// setPairs pads the pairs to (B,N) as build_entity_pairs does: padding
// rows take entity 0 (its clamp_min(0)); with no pair anywhere N = 1 and
// the row is a zero vector (index −1).
func (p *relexPlan) setPairs(pairs [][][2]int) {
	N := 0
	for _, ps := range pairs {
		N = max(N, len(ps))
	}
	pad := int64(0)
	if N == 0 {
		N, pad = 1, -1
	}
	p.N = N
	p.pairHead = make([]int64, p.B*N)
	p.pairTail = make([]int64, p.B*N)
	p.pairMask = make([]float32, p.B*N)
	for bi, ps := range pairs {
		for n := 0; n < N; n++ {
			i := bi*N + n
			if n < len(ps) {
				p.pairHead[i], p.pairTail[i], p.pairMask[i] = int64(ps[n][0]), int64(ps[n][1]), 1
			} else {
				p.pairHead[i], p.pairTail[i] = pad, pad
			}
		}
	}
}

// bindRelex binds the relex inputs of the full graph: the <<REL>>
// positions and, in training, the selections and targets of bp.
func (m *Model) bindRelex(c *compiled, k shapeKey, b *data.Batch, bp *batchPlan) error {
	if k.R == 0 {
		return nil
	}
	idx, mask, err := m.relPromptIdx(k, b)
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, c.m.SetInts("rel_prompt_idx", idx, k.B, k.R))
	if bp.train {
		p := bp.relex
		if p == nil || p.B != k.B || p.E != k.E || p.N != k.N || p.R != k.R {
			return fmt.Errorf("relex batch: internal error: no selection for shape %+v", k)
		}
		errs = append(errs, m.bindHeadInputs(c, p),
			c.m.SetInts("ent_idx", p.entIdx, k.B, k.E),
			c.m.SetFloats("adj_matrix", p.adj, k.B, k.E, k.E),
			c.m.SetFloats("rel_matrix", p.rel, k.B, k.N, k.R),
			c.m.SetFloats("pair_mask", p.pairMask, k.B, k.N),
			c.m.SetFloats("rel_prompts_mask", mask, k.B, k.R))
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("relex batch: %w", err)
		}
	}
	return nil
}

// relPromptIdx finds each example's <<REL>> positions (B,R), −1 pad, and
// their mask.
func (m *Model) relPromptIdx(k shapeKey, b *data.Batch) ([]int64, []float32, error) {
	idx := make([]int64, k.B*k.R)
	mask := make([]float32, k.B*k.R)
	tokID := int64(m.Cfg.RelTokenIndex)
	for bi := 0; bi < k.B; bi++ {
		n := 0
		for t := 0; t < k.T; t++ {
			if b.InputIDs.Data[bi*k.T+t] != tokID {
				continue
			}
			pos := int64(t)
			if !m.Cfg.EmbedRelToken {
				pos++
			}
			idx[bi*k.R+n] = pos
			mask[bi*k.R+n] = 1
			n++
		}
		for j := n; j < k.R; j++ {
			idx[bi*k.R+j] = -1
		}
		if bi < len(b.RelIDToClass) && b.RelIDToClass[bi] != nil && n != len(b.RelIDToClass[bi]) {
			return nil, nil, fmt.Errorf("batch: %s: %d <<REL>> tokens (id %d) in the prompt, %d relation types", exampleName(b, bi), n, tokID, len(b.RelIDToClass[bi]))
		}
	}
	return idx, mask, nil
}

// bindHeadInputs binds the entity mask, the mlp layer's pair indices and
// the pairs (when the graph has them).
func (m *Model) bindHeadInputs(c *compiled, p *relexPlan) error {
	var errs []error
	errs = append(errs, c.m.SetFloats("ent_mask", p.entMask, p.B, p.E))
	if c.inputs["adj_i"] {
		ai := make([]int64, p.B*p.E*p.E)
		aj := make([]int64, p.B*p.E*p.E)
		for bi := 0; bi < p.B; bi++ {
			for i := 0; i < p.E; i++ {
				for j := 0; j < p.E; j++ {
					ai[(bi*p.E+i)*p.E+j], aj[(bi*p.E+i)*p.E+j] = int64(i), int64(j)
				}
			}
		}
		errs = append(errs, c.m.SetInts("adj_i", ai, p.B, p.E*p.E), c.m.SetInts("adj_j", aj, p.B, p.E*p.E))
	}
	if c.inputs["pair_head"] {
		errs = append(errs, c.m.SetInts("pair_head", p.pairHead, p.B, p.N), c.m.SetInts("pair_tail", p.pairTail, p.B, p.N))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
