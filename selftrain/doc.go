// Package selftrain is GLiNER self-training on a domain corpus with weak
// labels: a teacher model labels an unannotated corpus, a student is
// fine-tuned on those weak labels (with label smoothing, optionally mixed
// with gold data), and the student of round k becomes the teacher of round
// k+1. Rounds stop after Config.Rounds or when the dev F1 has not improved
// for Config.Patience rounds.
//
// One round, in Run:
//
//	teacher (round 0: Config.Teacher; round k: round k-1's student)
//	  → Label: predict over the corpus (streamed, ReadCorpus), keep entities
//	    by Rules (per-label thresholds or a top-fraction rule, optional
//	    agreement of both rules or of two teachers, minimum counts per
//	    label); the uncertain band [Low, high) becomes UncertainSpans
//	  → round-NNN/weak.parquet (data.ArrowSchema plus score, uncertain-span
//	    and provenance columns: WriteWeak / ReadWeak)
//	  → Student.Train on Mix(weak, gold, ratio), uncertain spans masked from
//	    the loss by Masker (a post-collation step), checkpoints in
//	    round-NNN/train, the exported model in round-NNN/model
//	  → Evaluator: dev F1; round-NNN/round.json; report.jsonl and report.png
//
// Uncertain spans are masked, not counted as negatives: the collator
// (data.Collator) builds the labels tensor as usual, then Masker.Apply sets
// the labels cell of each uncertain (span, label) to losses.IgnoreIndex
// (-100), which every span and token loss skips (it never overrides a
// positive). Rules.MaskUncertain (recipe key weak_labels.mask_uncertain)
// turns it off; the uncertain entities are then ordinary negatives, as in a
// plain fine-tune on the weak labels. The collator itself is unchanged: the
// mask is a separate step applied to each collated data.Batch, keyed by
// Example.Source, which WeakExample sets to "weak:<row>".
//
// Resuming: every artefact of a round is written atomically and a round is
// done when its round.json exists. A killed run restarted with the same
// configuration skips finished rounds, reuses a written weak-label file,
// and the student resumes from its last checkpoint (the training loop's
// bit-exact resume), so the result equals the uninterrupted run's.
package selftrain
