package encoder

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// StabilizeLogits applies GLiNER's NumericalStabilityProcessor in place, in
// float32 as the reference does: −Inf becomes the float32 minimum, values
// are clamped to [−1e9, 1e9], then 1e-6 is added.
func StabilizeLogits(scores []float32) {
	for i, v := range scores {
		if math.IsInf(float64(v), -1) {
			v = -math.MaxFloat32
		}
		v = min(max(v, -1e9), 1e9)
		scores[i] = v + 1e-6
	}
}

// argmax returns the index of the first maximum (torch.argmax's choice on
// ties).
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// GPT2Generation holds the settings of Generate. GLiNER's generate_labels
// passes eos = pad = the decoder tokenizer's <|endoftext|>.
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
	// −1e9+1e-6).
	Allowed func(row int, generated []int64) []int64
	// Observe, when set, sees each unfinished row's processed scores
	// (V values, valid during the call) before the greedy choice.
	Observe func(step, row int, scores []float32)
}

// constrain adds −Inf to every score outside allowed (EOS alone when
// allowed is empty), as HF's PrefixConstrainedLogitsProcessor.
func constrain(scores []float32, allowed []int64, eos int) error {
	if len(allowed) == 0 {
		allowed = []int64{int64(eos)}
	}
	keep := make([]bool, len(scores))
	for _, id := range allowed {
		if id < 0 || int(id) >= len(scores) {
			return fmt.Errorf("allowed token %d is outside the vocabulary of %d", id, len(scores))
		}
		keep[id] = true
	}
	for i := range scores {
		if !keep[i] {
			scores[i] = float32(math.Inf(-1))
		}
	}
	return nil
}

// Generate continues prefix embeddings greedily, reproducing transformers
// v4.40.2 GenerationMixin greedy search as GLiNER's
// Decoder.generate_from_embeds calls it (num_beams 1, do_sample false,
// the NumericalStabilityProcessor as the only logits processor).
//
// prefixEmbeds is (rows, prefixLen, D) row-major. prefixMask is (rows,
// prefixLen) or nil; GLiNER passes none, which means an all-ones mask, so
// left padding is attended and positions run 0..T−1 over the padded
// prefix. With a mask, positions are cumsum(mask)−1 (1 at masked slots)
// as HF derives them, and generated tokens extend the mask with ones.
//
// Each step recomputes the whole sequence (no KV cache): the logits equal
// the cached computation's up to float rounding. The result is HF's
// output for inputs_embeds: (rows, steps) generated ids, where steps ≤
// MaxNewTokens stops early once every row has produced EOS, and rows that
// finished earlier are filled with Pad.
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
	pad := opt.Pad
	if pad < 0 {
		pad = opt.EOS
	}
	if pad >= V {
		return nil, fmt.Errorf("gpt2 generate: pad id %d is outside the vocabulary of %d", pad, V)
	}
	if prefixLen+opt.MaxNewTokens > m.Cfg.NPositions {
		return nil, fmt.Errorf("gpt2 generate: %d prefix + %d new tokens exceed n_positions %d", prefixLen, opt.MaxNewTokens, m.Cfg.NPositions)
	}
	wte, ok := s.Get(m.wte)
	if !ok {
		return nil, fmt.Errorf("gpt2 generate: parameter %q is not in the store", m.wte)
	}
	head, ok := s.Get(m.lmHead)
	if !ok {
		return nil, fmt.Errorf("gpt2 generate: parameter %q is not in the store", m.lmHead)
	}
	allOnes := true
	for _, v := range prefixMask {
		if v != 1 {
			allOnes = false
			break
		}
	}

	out := make([][]int64, rows)
	unfinished := make([]bool, rows)
	for r := range unfinished {
		unfinished[r] = true
	}
	logits := make([]float32, rows*V)
	last := make([]float32, rows*D)
	for step := 0; step < opt.MaxNewTokens; step++ {
		T := prefixLen + step
		x := make([]float32, rows*T*D)
		mask := make([]int64, rows*T)
		for r := 0; r < rows; r++ {
			copy(x[r*T*D:], prefixEmbeds[r*prefixLen*D:(r+1)*prefixLen*D])
			for j, id := range out[r] {
				copy(x[(r*T+prefixLen+j)*D:(r*T+prefixLen+j+1)*D], wte.Data[int(id)*D:(int(id)+1)*D])
			}
			for t := 0; t < T; t++ {
				mask[r*T+t] = 1
				if t < prefixLen && prefixMask != nil {
					mask[r*T+t] = prefixMask[r*prefixLen+t]
				}
			}
		}
		g := autograd.NewGraph(s, false)
		xin := g.Input("inputs_embeds", rows, T, D)
		mk := g.IntInput("attention_mask", rows, T)
		var pin *autograd.Node
		var pos []int64
		if !allOnes {
			pin = g.IntInput("position_ids", rows, T)
			pos = make([]int64, rows*T)
			for r := 0; r < rows; r++ {
				var c int64
				for t := 0; t < T; t++ {
					c += mask[r*T+t]
					pos[r*T+t] = c - 1
					if mask[r*T+t] == 0 {
						pos[r*T+t] = 1
					}
				}
			}
		}
		h := m.Hidden(g, xin, mk, pin)
		mach, err := autograd.Compile(g, nil, h)
		if err != nil {
			return nil, fmt.Errorf("gpt2 generate: step %d: %w", step, err)
		}
		if err := mach.SetFloats("inputs_embeds", x, rows, T, D); err != nil {
			return nil, fmt.Errorf("gpt2 generate: step %d: %w", step, err)
		}
		if err := mach.SetInts("attention_mask", mask, rows, T); err != nil {
			return nil, fmt.Errorf("gpt2 generate: step %d: %w", step, err)
		}
		if pin != nil {
			if err := mach.SetInts("position_ids", pos, rows, T); err != nil {
				return nil, fmt.Errorf("gpt2 generate: step %d: %w", step, err)
			}
		}
		if err := mach.Run(); err != nil {
			return nil, fmt.Errorf("gpt2 generate: step %d: %w", step, err)
		}
		hv, err := mach.Value(h)
		if err != nil {
			return nil, fmt.Errorf("gpt2 generate: step %d: %w", step, err)
		}
		for r := 0; r < rows; r++ {
			copy(last[r*D:(r+1)*D], hv.F[(r*T+T-1)*D:(r*T+T)*D])
		}
		kern.Sgemm(false, true, rows, V, D, 1, last, D, head.Data, D, 0, logits, V)
		done := true
		for r := 0; r < rows; r++ {
			row := logits[r*V : (r+1)*V]
			if opt.Allowed != nil && unfinished[r] {
				if err := constrain(row, opt.Allowed(r, out[r]), opt.EOS); err != nil {
					return nil, fmt.Errorf("gpt2 generate: step %d, row %d: %w", step, r, err)
				}
			}
			StabilizeLogits(row)
			next := int64(pad)
			if unfinished[r] {
				next = int64(argmax(row))
				if opt.Observe != nil {
					opt.Observe(step, r, row)
				}
			}
			out[r] = append(out[r], next)
			if next == int64(opt.EOS) {
				unfinished[r] = false
			}
			done = done && !unfinished[r]
		}
		if done {
			break
		}
	}
	return out, nil
}
