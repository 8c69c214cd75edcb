package encoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// GPT2Generation holds the settings of Generate: the decoding strategy of
// Hugging Face's GenerationMixin.generate (transformers v4.40, the version
// GLiNER's Decoder.generate_from_embeds calls) and GLiNER's arguments to it
// (eos = pad = the decoder tokenizer's <|endoftext|>, the
// NumericalStabilityProcessor as logits processor, the labels trie as
// prefix_allowed_tokens_fn).
//
//   - Greedy search (the default): the best processed score each step.
//   - Sampling (DoSample): the processed scores pass the warpers in HF's
//     order — temperature, top-k, top-p — and the next token is drawn from
//     their softmax with a PCG generator seeded by Seed (reproducible;
//     torch's random stream is not reproduced).
//   - Beam search (NumBeams > 1, not sampling): HF's _beam_search with a
//     BeamSearchScorer keeping one hypothesis per row: log-softmax scores
//     plus the beams' running sums, the 2·NumBeams best continuations per
//     row, finished hypotheses scored sum / length^LengthPenalty, stopping
//     by HF's early_stopping rule (EarlyStopping true: once NumBeams
//     hypotheses are finished; false: when no running beam can beat the
//     worst kept one).
type GPT2Generation struct {
	// MaxNewTokens bounds the number of generated tokens (GLiNER: 15 by
	// default in GLiNER.generate_labels, 32 in the model's method).
	MaxNewTokens int
	// EOS ends a row; Pad fills a row after its EOS (HF: pad_token_id, or
	// eos when unset; a negative Pad means EOS).
	EOS, Pad int
	// Allowed, when set, is GLiNER's labels-trie constraint (HF
	// prefix_allowed_tokens_fn): the tokens row may produce after the
	// tokens it generated so far; an empty list allows only EOS. Other
	// tokens get −Inf before the stability processor (so they end at
	// −1e9+1e-6). In beam search row is the input row of the beam.
	Allowed func(row int, generated []int64) []int64
	// Observe, when set, sees each unfinished row's processed scores
	// (V values, valid during the call) before the choice (greedy search
	// and sampling, before the warpers).
	Observe func(step, row int, scores []float32)

	// NumBeams > 1 selects beam search.
	NumBeams int
	// LengthPenalty is beam search's length exponent; nil means HF's
	// default 1.0.
	LengthPenalty *float64
	// EarlyStopping is HF's early_stopping (true or false; "never" is
	// not supported).
	EarlyStopping bool

	// DoSample selects sampling. Temperature 0 means 1 (no change); TopK
	// 0 means HF's default 50 and a negative TopK disables it; TopP 0
	// means 1 (disabled). Seed seeds the sampler.
	DoSample    bool
	Temperature float64
	TopK        int
	TopP        float64
	Seed        uint64

	// NoCache recomputes the whole sequence at every step instead of
	// keeping the keys and values (the same logits up to float rounding;
	// for measuring what the cache saves).
	NoCache bool
}

// DefaultTopK is Hugging Face's GenerationConfig default top_k.
const DefaultTopK = 50

// Generate continues prefix embeddings with the strategy of opt.
//
// prefixEmbeds is (rows, prefixLen, D) row-major. prefixMask is (rows,
// prefixLen) or nil; GLiNER passes none, which means an all-ones mask, so
// left padding is attended and positions run 0..T−1 over the padded
// prefix. With a mask, positions are cumsum(mask)−1 (1 at masked slots)
// as HF derives them, and generated tokens extend the mask with ones.
//
// The result is HF's output for inputs_embeds: per row the generated ids.
// Greedy search and sampling give (rows, steps), steps ≤ MaxNewTokens
// (stopping early once every row has produced EOS; rows that finished
// earlier are filled with Pad). Beam search gives each row's best
// hypothesis, all padded with Pad to the longest (+ its EOS), at most
// MaxNewTokens.
func (m *GPT2) Generate(s *autograd.Store, prefixEmbeds []float32, rows, prefixLen int, prefixMask []int64, opt GPT2Generation) ([][]int64, error) {
	D, V := m.Cfg.NEmbd, m.Cfg.VocabSize
	if rows <= 0 || prefixLen <= 0 || len(prefixEmbeds) != rows*prefixLen*D {
		return nil, fmt.Errorf("gpt2 generate: prefix has %d values, want rows %d × prefix length %d × %d (both positive)", len(prefixEmbeds), rows, prefixLen, D)
	}
	if prefixMask != nil && len(prefixMask) != rows*prefixLen {
		return nil, fmt.Errorf("gpt2 generate: prefix mask has %d values, want %d×%d", len(prefixMask), rows, prefixLen)
	}
	if opt.MaxNewTokens < 0 {
		return nil, fmt.Errorf("gpt2 generate: max new tokens %d is negative", opt.MaxNewTokens)
	}
	if opt.EOS < 0 || opt.EOS >= V {
		return nil, fmt.Errorf("gpt2 generate: eos id %d is outside the vocabulary of %d", opt.EOS, V)
	}
	if opt.Pad < 0 {
		opt.Pad = opt.EOS
	}
	if opt.Pad >= V {
		return nil, fmt.Errorf("gpt2 generate: pad id %d is outside the vocabulary of %d", opt.Pad, V)
	}
	if prefixLen+opt.MaxNewTokens > m.Cfg.NPositions {
		return nil, fmt.Errorf("gpt2 generate: %d prefix + %d new tokens exceed n_positions %d", prefixLen, opt.MaxNewTokens, m.Cfg.NPositions)
	}
	if opt.NumBeams < 0 {
		return nil, fmt.Errorf("gpt2 generate: num_beams %d is negative", opt.NumBeams)
	}
	if opt.NumBeams > 1 && opt.DoSample {
		return nil, fmt.Errorf("gpt2 generate: beam sampling (num_beams %d with sampling) is not supported", opt.NumBeams)
	}
	if opt.DoSample {
		if opt.Temperature < 0 || math.IsNaN(opt.Temperature) {
			return nil, fmt.Errorf("gpt2 generate: temperature %v must be > 0", opt.Temperature)
		}
		if opt.TopP < 0 || opt.TopP > 1 || math.IsNaN(opt.TopP) {
			return nil, fmt.Errorf("gpt2 generate: top_p %v must be in (0, 1]", opt.TopP)
		}
	}
	if opt.MaxNewTokens == 0 {
		return make([][]int64, rows), nil
	}
	beams := max(opt.NumBeams, 1)
	r, err := m.newRunner(s, prefixEmbeds, rows, prefixLen, prefixMask, beams, opt.MaxNewTokens, opt.NoCache)
	if err != nil {
		return nil, err
	}
	if beams > 1 {
		return m.beamSearch(r, rows, beams, opt)
	}
	return m.greedyOrSample(r, rows, opt)
}

// lmRunner produces next-token logits for a set of rows, with the
// key/value cache or by recomputing each whole sequence.
type lmRunner struct {
	m       *GPT2
	s       *autograd.Store
	rows    int
	plen    int
	prefix  []float32 // (rows, plen, D)
	pmask   []int64   // (rows, plen), nil = ones
	toks    [][]int64
	ones    []int64 // attended positions per row so far
	cache   *KVCache
	wte     []float32
	head    []float32
	started bool
}

// newRunner repeats each of rows prefixes `repeat` times (beam search's
// expansion) and prepares a cache for maxNew more positions.
func (m *GPT2) newRunner(s *autograd.Store, prefix []float32, rows, plen int, pmask []int64, repeat, maxNew int, noCache bool) (*lmRunner, error) {
	D := m.Cfg.NEmbd
	R := rows * repeat
	r := &lmRunner{m: m, s: s, rows: R, plen: plen, toks: make([][]int64, R), ones: make([]int64, R)}
	r.prefix = make([]float32, R*plen*D)
	allOnes := true
	for _, v := range pmask {
		allOnes = allOnes && v == 1
	}
	if !allOnes {
		r.pmask = make([]int64, R*plen)
	}
	for i := 0; i < R; i++ {
		src := i / repeat
		copy(r.prefix[i*plen*D:(i+1)*plen*D], prefix[src*plen*D:(src+1)*plen*D])
		if r.pmask != nil {
			copy(r.pmask[i*plen:(i+1)*plen], pmask[src*plen:(src+1)*plen])
		}
	}
	wte, ok := s.Get(m.wte)
	if !ok {
		return nil, fmt.Errorf("gpt2 generate: parameter %q is not in the store", m.wte)
	}
	head, ok := s.Get(m.lmHead)
	if !ok {
		return nil, fmt.Errorf("gpt2 generate: parameter %q is not in the store", m.lmHead)
	}
	r.wte, r.head = wte.Data, head.Data
	if !noCache {
		var err error
		if r.cache, err = m.NewKVCache(s, R, plen+maxNew); err != nil {
			return nil, fmt.Errorf("gpt2 generate: %w", err)
		}
	}
	return r, nil
}

func (r *lmRunner) maskAt(row, t int) int64 {
	if r.pmask == nil {
		return 1
	}
	return r.pmask[row*r.plen+t]
}

// next appends one token per row (none on the first call, which runs the
// prefix) and returns the logits of every row's last position (rows, V).
func (r *lmRunner) next(tokens []int64) ([]float32, error) {
	D := r.m.Cfg.NEmbd
	if r.started {
		if len(tokens) != r.rows {
			return nil, fmt.Errorf("gpt2 generate: %d tokens for %d rows", len(tokens), r.rows)
		}
		for i, t := range tokens {
			r.toks[i] = append(r.toks[i], t)
		}
	}
	if r.cache == nil {
		r.started = true
		return r.fullLogits()
	}
	var x []float32
	var pos, mask []int64
	n := 1
	if !r.started {
		n = r.plen
		x = r.prefix
		pos = make([]int64, r.rows*n)
		mask = make([]int64, r.rows*n)
		for i := 0; i < r.rows; i++ {
			for t := 0; t < n; t++ {
				mk := r.maskAt(i, t)
				mask[i*n+t] = mk
				r.ones[i] += mk
				pos[i*n+t] = r.ones[i] - 1
				if mk == 0 {
					pos[i*n+t] = 1
				}
			}
		}
		r.started = true
	} else {
		x = make([]float32, r.rows*D)
		pos = make([]int64, r.rows)
		mask = make([]int64, r.rows)
		for i, t := range tokens {
			copy(x[i*D:(i+1)*D], r.wte[int(t)*D:(int(t)+1)*D])
			pos[i] = r.ones[i]
			mask[i] = 1
			r.ones[i]++
		}
	}
	h, err := r.cache.Step(x, pos, mask, n)
	if err != nil {
		return nil, fmt.Errorf("gpt2 generate: %w", err)
	}
	return r.cache.Logits(h, r.rows), nil
}

// fullLogits runs the whole sequences (prefix + generated tokens) through
// the graph, as without a cache.
func (r *lmRunner) fullLogits() ([]float32, error) {
	m, D, V := r.m, r.m.Cfg.NEmbd, r.m.Cfg.VocabSize
	T := r.plen + len(r.toks[0])
	rows := r.rows
	x := make([]float32, rows*T*D)
	mask := make([]int64, rows*T)
	for i := 0; i < rows; i++ {
		copy(x[i*T*D:], r.prefix[i*r.plen*D:(i+1)*r.plen*D])
		for j, id := range r.toks[i] {
			copy(x[(i*T+r.plen+j)*D:(i*T+r.plen+j+1)*D], r.wte[int(id)*D:(int(id)+1)*D])
		}
		for t := 0; t < T; t++ {
			mask[i*T+t] = 1
			if t < r.plen {
				mask[i*T+t] = r.maskAt(i, t)
			}
		}
	}
	g := autograd.NewGraph(r.s, false)
	xin := g.Input("inputs_embeds", rows, T, D)
	mk := g.IntInput("attention_mask", rows, T)
	var pin *autograd.Node
	var pos []int64
	if r.pmask != nil {
		pin = g.IntInput("position_ids", rows, T)
		pos = make([]int64, rows*T)
		for i := 0; i < rows; i++ {
			var c int64
			for t := 0; t < T; t++ {
				c += mask[i*T+t]
				pos[i*T+t] = c - 1
				if mask[i*T+t] == 0 {
					pos[i*T+t] = 1
				}
			}
		}
	}
	h := m.Hidden(g, xin, mk, pin)
	mach, err := autograd.Compile(g, nil, h)
	if err != nil {
		return nil, fmt.Errorf("gpt2 generate: %w", err)
	}
	errs := []error{mach.SetFloats("inputs_embeds", x, rows, T, D), mach.SetInts("attention_mask", mask, rows, T)}
	if pin != nil {
		errs = append(errs, mach.SetInts("position_ids", pos, rows, T))
	}
	for _, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("gpt2 generate: %w", e)
		}
	}
	if err := mach.Run(); err != nil {
		return nil, fmt.Errorf("gpt2 generate: %w", err)
	}
	hv, err := mach.Value(h)
	if err != nil {
		return nil, fmt.Errorf("gpt2 generate: %w", err)
	}
	last := make([]float32, rows*D)
	for i := 0; i < rows; i++ {
		copy(last[i*D:(i+1)*D], hv.F[(i*T+T-1)*D:(i*T+T)*D])
	}
	logits := make([]float32, rows*V)
	kern.Sgemm(false, true, rows, V, D, 1, last, D, r.head, D, 0, logits, V)
	return logits, nil
}

// reorder makes row i the former row idx[i] (beam search).
func (r *lmRunner) reorder(idx []int) error {
	toks := make([][]int64, r.rows)
	ones := make([]int64, r.rows)
	D := r.m.Cfg.NEmbd
	prefix := make([]float32, len(r.prefix))
	var pm []int64
	if r.pmask != nil {
		pm = make([]int64, len(r.pmask))
	}
	for i, src := range idx {
		toks[i] = append([]int64(nil), r.toks[src]...)
		ones[i] = r.ones[src]
		copy(prefix[i*r.plen*D:(i+1)*r.plen*D], r.prefix[src*r.plen*D:(src+1)*r.plen*D])
		if pm != nil {
			copy(pm[i*r.plen:(i+1)*r.plen], r.pmask[src*r.plen:(src+1)*r.plen])
		}
	}
	r.toks, r.ones, r.prefix, r.pmask = toks, ones, prefix, pm
	if r.cache != nil {
		return r.cache.Reorder(idx)
	}
	return nil
}

// greedyOrSample is HF's _greedy_search / _sample.
func (m *GPT2) greedyOrSample(r *lmRunner, rows int, opt GPT2Generation) ([][]int64, error) {
	V := m.Cfg.VocabSize
	var rng *rand.Rand
	var warp *warper
	if opt.DoSample {
		rng = rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
		warp = newWarper(opt, V)
	}
	out := make([][]int64, rows)
	unfinished := make([]bool, rows)
	for i := range unfinished {
		unfinished[i] = true
	}
	logits, err := r.next(nil)
	if err != nil {
		return nil, err
	}
	next := make([]int64, rows)
	for step := 0; step < opt.MaxNewTokens; step++ {
		done := true
		for i := 0; i < rows; i++ {
			row := logits[i*V : (i+1)*V]
			if opt.Allowed != nil && unfinished[i] {
				if err := constrain(row, opt.Allowed(i, out[i]), opt.EOS); err != nil {
					return nil, fmt.Errorf("gpt2 generate: step %d, row %d: %w", step, i, err)
				}
			}
			StabilizeLogits(row)
			next[i] = int64(opt.Pad)
			if unfinished[i] {
				if opt.Observe != nil {
					opt.Observe(step, i, row)
				}
				if warp != nil {
					next[i] = int64(warp.sample(row, rng))
				} else {
					next[i] = int64(argmax(row))
				}
			}
			out[i] = append(out[i], next[i])
			if next[i] == int64(opt.EOS) {
				unfinished[i] = false
			}
			done = done && !unfinished[i]
		}
		if done || step == opt.MaxNewTokens-1 {
			break
		}
		if logits, err = r.next(next); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// warper applies HF's sampling warpers (TemperatureLogitsWarper,
// TopKLogitsWarper, TopPLogitsWarper, in that order, min_tokens_to_keep 1)
// and samples from the softmax.
type warper struct {
	temp float64
	topK int
	topP float64
	buf  []float64
	idx  []int
}

func newWarper(opt GPT2Generation, V int) *warper {
	w := &warper{temp: opt.Temperature, topK: opt.TopK, topP: opt.TopP, buf: make([]float64, V), idx: make([]int, V)}
	if w.temp == 0 {
		w.temp = 1
	}
	if w.topK == 0 {
		w.topK = DefaultTopK
	}
	if w.topP == 0 {
		w.topP = 1
	}
	return w
}

func (w *warper) sample(scores []float32, rng *rand.Rand) int {
	V := len(scores)
	s := w.buf[:V]
	for i, v := range scores {
		x := v
		if w.temp != 1 {
			x = v / float32(w.temp)
		}
		s[i] = float64(x)
	}
	if w.topK > 0 && w.topK < V {
		// Remove scores below the k-th largest (ties with it stay).
		vals := append([]float64(nil), s...)
		sort.Float64s(vals)
		kth := vals[V-w.topK]
		for i := range s {
			if s[i] < kth {
				s[i] = math.Inf(-1)
			}
		}
	}
	if w.topP < 1 {
		// Sorted ascending, remove the tokens whose cumulative probability
		// is ≤ 1 − top_p, keeping at least the most probable one.
		idx := w.idx[:V]
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
		p := softmax64(s)
		cum := 0.0
		remove := make([]bool, V)
		for j, i := range idx {
			cum += p[i]
			if cum <= 1-w.topP && j < V-1 {
				remove[i] = true
			}
		}
		for i := range s {
			if remove[i] {
				s[i] = math.Inf(-1)
			}
		}
	}
	p := softmax64(s)
	u := rng.Float64()
	acc := 0.0
	last := 0
	for i, x := range p {
		if x == 0 {
			continue
		}
		last = i
		acc += x
		if u < acc {
			return i
		}
	}
	return last
}

func softmax64(s []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = max(mx, v)
	}
	out := make([]float64, len(s))
	sum := 0.0
	for i, v := range s {
		if math.IsInf(v, -1) {
			continue
		}
		out[i] = math.Exp(v - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// logSoftmax32 is torch's log_softmax over a float32 row.
func logSoftmax32(row []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range row {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v - mx))
	}
	lse := mx + float32(math.Log(sum))
	for i, v := range row {
		row[i] = v - lse
	}
}

type beamHyp struct {
	score float64
	toks  []int64
}

// beamHyps is HF's BeamHypotheses: the num_beams best finished hypotheses.
type beamHyps struct {
	n     int
	lp    float64
	early bool
	beams []beamHyp
	worst float64
}

func (h *beamHyps) add(toks []int64, sumLogprobs float64, genLen int) {
	score := sumLogprobs / math.Pow(float64(genLen), h.lp)
	if len(h.beams) < h.n || score > h.worst {
		h.beams = append(h.beams, beamHyp{score, append([]int64(nil), toks...)})
		if len(h.beams) > h.n {
			type si struct {
				s float64
				i int
			}
			order := make([]si, len(h.beams))
			for i, b := range h.beams {
				order[i] = si{b.score, i}
			}
			sort.SliceStable(order, func(a, b int) bool {
				if order[a].s != order[b].s {
					return order[a].s < order[b].s
				}
				return order[a].i < order[b].i
			})
			drop := order[0].i
			h.beams = append(h.beams[:drop], h.beams[drop+1:]...)
			h.worst = order[1].s
		} else {
			h.worst = math.Min(score, h.worst)
		}
	}
}

func (h *beamHyps) isDone(best float64, curLen int) bool {
	if len(h.beams) < h.n {
		return false
	}
	if h.early {
		return true
	}
	return h.worst >= best/math.Pow(float64(curLen), h.lp)
}

// beamSearch is HF's _beam_search with a BeamSearchScorer
// (num_beam_hyps_to_keep 1) over rows inputs of K beams each.
func (m *GPT2) beamSearch(r *lmRunner, rows, K int, opt GPT2Generation) ([][]int64, error) {
	V := m.Cfg.VocabSize
	lp := 1.0
	if opt.LengthPenalty != nil {
		lp = *opt.LengthPenalty
	}
	R := rows * K
	scores := make([]float32, R)
	for i := range scores {
		if i%K != 0 {
			scores[i] = -1e9
		}
	}
	hyps := make([]*beamHyps, rows)
	for i := range hyps {
		hyps[i] = &beamHyps{n: K, lp: lp, early: opt.EarlyStopping, worst: 1e9}
	}
	done := make([]bool, rows)
	seqs := make([][]int64, R)
	logits, err := r.next(nil)
	if err != nil {
		return nil, err
	}
	type cand struct {
		score float32
		beam  int
		tok   int
	}
	curLen := 0
	for {
		for i := 0; i < R; i++ {
			row := logits[i*V : (i+1)*V]
			logSoftmax32(row)
			if opt.Allowed != nil {
				if err := constrain(row, opt.Allowed(i/K, seqs[i]), opt.EOS); err != nil {
					return nil, fmt.Errorf("gpt2 generate: beam row %d: %w", i, err)
				}
			}
			StabilizeLogits(row)
			for v := range row {
				row[v] += scores[i]
			}
		}
		curLen++
		nextScores := make([]float32, R)
		nextTokens := make([]int64, R)
		nextIdx := make([]int, R)
		for b := 0; b < rows; b++ {
			if done[b] {
				for j := 0; j < K; j++ {
					nextScores[b*K+j], nextTokens[b*K+j], nextIdx[b*K+j] = 0, int64(opt.Pad), b*K
				}
				continue
			}
			// topk 2K over the K·V flattened scores (sorted, ties by index).
			top := make([]cand, 0, 2*K+1)
			for j := 0; j < K; j++ {
				row := logits[(b*K+j)*V : (b*K+j+1)*V]
				for v, sc := range row {
					if len(top) == 2*K && sc <= top[len(top)-1].score {
						continue
					}
					c := cand{sc, j, v}
					at := sort.Search(len(top), func(x int) bool { return top[x].score < sc })
					top = append(top, cand{})
					copy(top[at+1:], top[at:])
					top[at] = c
					if len(top) > 2*K {
						top = top[:2*K]
					}
				}
			}
			n := 0
			for rank, c := range top {
				src := b*K + c.beam
				if c.tok == opt.EOS {
					if rank >= K {
						continue
					}
					hyps[b].add(seqs[src], float64(c.score), curLen)
				} else {
					nextScores[b*K+n], nextTokens[b*K+n], nextIdx[b*K+n] = c.score, int64(c.tok), src
					n++
				}
				if n == K {
					break
				}
			}
			if n < K {
				return nil, fmt.Errorf("gpt2 generate: beam search row %d: fewer than %d continuations besides EOS", b, K)
			}
			done[b] = done[b] || hyps[b].isDone(float64(top[0].score), curLen)
		}
		ns := make([][]int64, R)
		for i, src := range nextIdx {
			ns[i] = append(append([]int64(nil), seqs[src]...), nextTokens[i])
		}
		seqs, scores = ns, nextScores
		allDone := true
		for _, d := range done {
			allDone = allDone && d
		}
		if allDone || curLen >= opt.MaxNewTokens {
			break
		}
		if err := r.reorder(nextIdx); err != nil {
			return nil, err
		}
		if logits, err = r.next(nextTokens); err != nil {
			return nil, err
		}
	}
	// finalize
	out := make([][]int64, rows)
	longest := 0
	for b := 0; b < rows; b++ {
		if !done[b] {
			for j := 0; j < K; j++ {
				hyps[b].add(seqs[b*K+j], float64(scores[b*K+j]), len(seqs[b*K+j]))
			}
		}
		best := hyps[b].beams[0]
		for _, h := range hyps[b].beams[1:] {
			if h.score >= best.score { // sorted() then pop(): the last of equal scores
				best = h
			}
		}
		out[b] = best.toks
		longest = max(longest, len(best.toks))
	}
	width := min(longest+1, opt.MaxNewTokens)
	for b, t := range out {
		row := make([]int64, width)
		for i := range row {
			row[i] = int64(opt.Pad)
		}
		copy(row, t)
		if len(t) < width {
			row[len(t)] = int64(opt.EOS)
		}
		out[b] = row
	}
	return out, nil
}
