package data

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"

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
	return Iterate(s, pos)
}

// BatchSampler is a sampler of batches of example indices, epoch by
// epoch: LengthSampler (length-bucketed, shuffled), SequentialSampler
// (the examples in order) and OrderSampler (batches given explicitly).
// EpochBatches must depend on the epoch alone, so that a run resumed from
// a SamplerPosition sees the batches an uninterrupted run would.
type BatchSampler interface {
	// NumBatches is the number of batches per epoch (≥ 1).
	NumBatches() int
	// EpochBatches returns the batches of one epoch.
	EpochBatches(epoch int) [][]int
}

// Iterate returns an iterator over s whose first batch is the one at pos.
func Iterate(s BatchSampler, pos SamplerPosition) (*BatchIterator, error) {
	if pos.Epoch < 0 || pos.Step < 0 || pos.Step > s.NumBatches() {
		return nil, fmt.Errorf("sampler: position %+v outside epochs of %d batches", pos, s.NumBatches())
	}
	return &BatchIterator{s: s, pos: pos, epoch: -1}, nil
}

// BatchIterator walks a BatchSampler's batches epoch after epoch.
type BatchIterator struct {
	s     BatchSampler
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

// SequentialSampler yields the examples in their order, batchSize at a
// time, the same batches every epoch (the last one short unless dropped):
// a fixed batch order, as torch's SequentialSampler under a DataLoader.
type SequentialSampler struct {
	n, batchSize int
	dropLast     bool
}

// NewSequentialSampler returns a sequential sampler over n examples.
func NewSequentialSampler(n, batchSize int, dropLast bool) (*SequentialSampler, error) {
	if n < 1 {
		return nil, fmt.Errorf("sequential sampler: no examples")
	}
	if batchSize < 1 {
		return nil, fmt.Errorf("sequential sampler: batch size %d must be ≥ 1", batchSize)
	}
	if dropLast && n < batchSize {
		return nil, fmt.Errorf("sequential sampler: %d examples make no full batch of %d (dropLast)", n, batchSize)
	}
	return &SequentialSampler{n: n, batchSize: batchSize, dropLast: dropLast}, nil
}

// NumBatches implements BatchSampler.
func (s *SequentialSampler) NumBatches() int {
	if s.dropLast {
		return s.n / s.batchSize
	}
	return (s.n + s.batchSize - 1) / s.batchSize
}

// EpochBatches implements BatchSampler: the same batches every epoch.
func (s *SequentialSampler) EpochBatches(int) [][]int {
	out := make([][]int, s.NumBatches())
	for b := range out {
		lo := b * s.batchSize
		idx := make([]int, 0, s.batchSize)
		for i := lo; i < min(lo+s.batchSize, s.n); i++ {
			idx = append(idx, i)
		}
		out[b] = idx
	}
	return out
}

// OrderSampler yields batches given explicitly (e.g. the batches a
// reference run drew, read with ReadBatchOrder), the same every epoch.
type OrderSampler struct {
	batches [][]int
}

// NewOrderSampler returns a sampler over the given batches of indices into
// n examples; an empty batch or an index outside 0..n-1 is an error naming
// the batch.
func NewOrderSampler(batches [][]int, n int) (*OrderSampler, error) {
	if len(batches) == 0 {
		return nil, fmt.Errorf("order sampler: no batches")
	}
	out := make([][]int, len(batches))
	for b, idx := range batches {
		if len(idx) == 0 {
			return nil, fmt.Errorf("order sampler: batch %d is empty", b)
		}
		for _, i := range idx {
			if i < 0 || i >= n {
				return nil, fmt.Errorf("order sampler: batch %d: example index %d outside 0..%d (%d examples)", b, i, n-1, n)
			}
		}
		out[b] = append([]int(nil), idx...)
	}
	return &OrderSampler{batches: out}, nil
}

// NumBatches implements BatchSampler.
func (s *OrderSampler) NumBatches() int { return len(s.batches) }

// EpochBatches implements BatchSampler: the given batches, every epoch.
func (s *OrderSampler) EpochBatches(int) [][]int {
	out := make([][]int, len(s.batches))
	for i, b := range s.batches {
		out[i] = append([]int(nil), b...)
	}
	return out
}

// ReadBatchOrder reads an explicit batch order: one batch per line, a JSON
// list of example indices (0-based, into the training examples in file
// order after windowing), e.g. "[3, 0, 7]"; blank lines and lines starting
// with # are skipped. A malformed line is an error naming file and line.
func ReadBatchOrder(path string) ([][]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("batch order: %w", err)
	}
	var out [][]int
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var idx []int
		if err := json.Unmarshal([]byte(line), &idx); err != nil {
			return nil, fmt.Errorf("batch order %s:%d: want a JSON list of example indices, e.g. [3, 0, 7]: %w", path, n+1, err)
		}
		if len(idx) == 0 {
			return nil, fmt.Errorf("batch order %s:%d: empty batch", path, n+1)
		}
		out = append(out, idx)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("batch order %s: no batches", path)
	}
	return out, nil
}

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
