package kern

import (
	"fmt"
	"math"
)

// CEOptions configure DecoderCrossEntropy.
type CEOptions struct {
	// Reduction: sum (the reference), mean over counted targets, or none
	// (one loss per target row, 0 for ignored rows).
	Reduction Reduction
	// IgnorePadding also ignores targets equal to PadID. The reference does
	// not (processor.py
	// UniEncoderSpanDecoderProcessor.prepare_decoder_labels: its masked_fill
	// for padding is not in place, so padding tokens are cross-entropy
	// targets); leave it false to match it.
	IgnorePadding bool
	// PadID is the padding token id (GPT-2: <|endoftext|>), used with
	// IgnorePadding.
	PadID int64
}

// DecoderCrossEntropy is the labels-decoder loss
// (gliner/modeling/loss_functions.py cross_entropy_loss): token-level softmax
// cross-entropy of logits (rows, vocab) against targets (rows), ignoring
// targets equal to -100 (and PadID with IgnorePadding), with label smoothing
// 0. A target outside [0, vocab) that is not ignored is an error naming its
// row. ReductionMean divides by the number of counted targets (0 when none).
func DecoderCrossEntropy(logits []float32, targets []int64, rows, vocab int, o CEOptions) (*LossResult, error) {
	sc := new(LossScratch)
	loss, per, local, err := crossEntropy(sc.to64(&sc.x, logits), targets, rows, vocab, o, true)
	if err != nil {
		return nil, err
	}
	return sc.toResult(loss, per, local, o.Reduction, vocab), nil
}

func crossEntropy(logits []float64, targets []int64, rows, vocab int, o CEOptions, round32 bool) (loss float64, per, local []float64, err error) {
	if rows < 0 || vocab <= 0 {
		return 0, nil, nil, fmt.Errorf("decoder cross-entropy: bad shape (%d, %d)", rows, vocab)
	}
	if err := lossCheckLen("decoder cross-entropy: logits (rows,vocab)", len(logits), rows*vocab); err != nil {
		return 0, nil, nil, err
	}
	if err := lossCheckLen("decoder cross-entropy: targets (rows)", len(targets), rows); err != nil {
		return 0, nil, nil, err
	}
	if o.Reduction < ReductionSum || o.Reduction > ReductionNone {
		return 0, nil, nil, fmt.Errorf("decoder cross-entropy: invalid reduction %v", o.Reduction)
	}
	local = make([]float64, rows*vocab)
	if o.Reduction == ReductionNone {
		per = make([]float64, rows)
	}
	sum, count := 0.0, 0.0
	for r := 0; r < rows; r++ {
		t := targets[r]
		if t == IgnoreIndex || (o.IgnorePadding && t == o.PadID) {
			continue
		}
		if t < 0 || t >= int64(vocab) {
			return 0, nil, nil, fmt.Errorf("decoder cross-entropy: row %d: target %d outside the vocabulary [0, %d)", r, t, vocab)
		}
		row := logits[r*vocab : (r+1)*vocab]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		lz := math.Log(z) + mx
		l := lz - row[t]
		if round32 {
			l = float64(float32(l))
		}
		sum += l
		count++
		if per != nil {
			per[r] = l
		}
		g := local[r*vocab : (r+1)*vocab]
		for v := range row {
			g[v] = math.Exp(row[v] - lz)
		}
		g[t]--
	}
	loss = sum
	if round32 {
		loss = float64(float32(sum))
	}
	if o.Reduction == ReductionMean {
		if count == 0 {
			loss = 0
		} else {
			loss = sum / count
			for i := range local {
				local[i] /= count
			}
		}
	}
	return loss, per, local, nil
}
