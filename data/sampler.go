package data

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/gliner-go/gliner/data/tokenizer"
)

// LengthSampler groups examples of similar length into batches so that
// little of each batch is padding. Each epoch it shuffles the examples,
// cuts them into mega-batches of MegaBatches·BatchSize, sorts each
// mega-batch by length (longest first), cuts it into batches and shuffles
// the order of all the epoch's batches. The batches depend only on (seed,
// epoch), so a run resumed from a SamplerPosition sees exactly the batches
// an uninterrupted run would. MegaBatches = 1 is plain random batching.
type LengthSampler struct {
	lengths     []int
	batchSize   int
	megaBatches int
	seed        uint64
	dropLast    bool
}

// SamplerPosition is where an iteration stands: the next batch is batch
// Step of epoch Epoch. It is what a checkpoint stores to resume.
type SamplerPosition struct {
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
}

// NewLengthSampler returns a sampler over examples with the given lengths
// (sub-tokens, see TokenLengths). The last, short batch of an epoch is kept
// unless dropLast; dropped examples are then different ones each epoch.
func NewLengthSampler(lengths []int, batchSize, megaBatches int, seed uint64, dropLast bool) (*LengthSampler, error) {
	if len(lengths) == 0 {
		return nil, fmt.Errorf("length sampler: no examples")
	}
	if batchSize < 1 || megaBatches < 1 {
		return nil, fmt.Errorf("length sampler: batch size %d and mega-batches %d must be ≥ 1", batchSize, megaBatches)
	}
	if dropLast && len(lengths) < batchSize {
		return nil, fmt.Errorf("length sampler: %d examples make no full batch of %d (dropLast)", len(lengths), batchSize)
	}
	for i, l := range lengths {
		if l < 0 {
			return nil, fmt.Errorf("length sampler: example %d has negative length %d", i, l)
		}
	}
	return &LengthSampler{lengths: append([]int(nil), lengths...), batchSize: batchSize,
		megaBatches: megaBatches, seed: seed, dropLast: dropLast}, nil
}

// NumBatches is the number of batches per epoch.
func (s *LengthSampler) NumBatches() int {
	if s.dropLast {
		return len(s.lengths) / s.batchSize
	}
	return (len(s.lengths) + s.batchSize - 1) / s.batchSize
}

// EpochBatches returns the batches (example indices) of one epoch.
func (s *LengthSampler) EpochBatches(epoch int) [][]int {
	rng := rand.New(rand.NewPCG(s.seed, uint64(epoch)*0x9e3779b97f4a7c15+1))
	perm := rng.Perm(len(s.lengths))
	mega := s.batchSize * s.megaBatches
	var batches [][]int
	for lo := 0; lo < len(perm); lo += mega {
		chunk := perm[lo:min(lo+mega, len(perm))]
		if s.megaBatches > 1 {
			sort.SliceStable(chunk, func(a, b int) bool { return s.lengths[chunk[a]] > s.lengths[chunk[b]] })
		}
		for b := 0; b < len(chunk); b += s.batchSize {
			batches = append(batches, chunk[b:min(b+s.batchSize, len(chunk))])
		}
	}
	if s.dropLast {
		// Only the very last batch can be short.
		if last := batches[len(batches)-1]; len(last) < s.batchSize {
			batches = batches[:len(batches)-1]
		}
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	return batches
}

// Iterator returns an iterator whose first batch is the one at pos.
func (s *LengthSampler) Iterator(pos SamplerPosition) (*BatchIterator, error) {
	if pos.Epoch < 0 || pos.Step < 0 || pos.Step > s.NumBatches() {
		return nil, fmt.Errorf("length sampler: position %+v outside epochs of %d batches", pos, s.NumBatches())
	}
	return &BatchIterator{s: s, pos: pos, epoch: -1}, nil
}

// BatchIterator walks a LengthSampler's batches epoch after epoch.
type BatchIterator struct {
	s     *LengthSampler
	pos   SamplerPosition
	epoch int
	cur   [][]int
}

// Next returns the next batch's example indices, moving on to the next
// epoch after the last batch of one.
func (it *BatchIterator) Next() []int {
	if it.pos.Step >= it.s.NumBatches() {
		it.pos = SamplerPosition{Epoch: it.pos.Epoch + 1}
	}
	if it.epoch != it.pos.Epoch {
		it.cur, it.epoch = it.s.EpochBatches(it.pos.Epoch), it.pos.Epoch
	}
	b := it.cur[it.pos.Step]
	it.pos.Step++
	return append([]int(nil), b...)
}

// Position is the position of the batch Next will return (up to the roll
// to the next epoch, which Next does itself).
func (it *BatchIterator) Position() SamplerPosition { return it.pos }

// TokenLengths returns each example's text length in sub-tokens, special
// tokens included and prompt excluded: the sort key for LengthSampler.
func TokenLengths(tok tokenizer.Tokenizer, exs []Example) ([]int, error) {
	out := make([]int, len(exs))
	for i := range exs {
		ids, _, err := tok.EncodeWords(exs[i].Words)
		if err != nil {
			return nil, fmt.Errorf("token lengths: %s: %w", collateName(&exs[i], i), err)
		}
		out[i] = len(ids)
	}
	return out, nil
}

// PaddingFraction is the share of padding in batches of examples with the
// given lengths, each batch padded to its longest example: 1 − Σ len / Σ
// (batch size · batch max).
func PaddingFraction(lengths []int, batches [][]int) float64 {
	var used, total int
	for _, b := range batches {
		m := 0
		for _, i := range b {
			used += lengths[i]
			m = max(m, lengths[i])
		}
		total += m * len(b)
	}
	if total == 0 {
		return 0
	}
	return 1 - float64(used)/float64(total)
}
