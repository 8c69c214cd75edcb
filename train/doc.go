// Package train is gliner-go's one training loop: AdamW as torch computes
// it, the reference's parameter groups, Hugging Face learning-rate
// schedules, gradient clipping and accumulation, evaluation with best-model
// keeping and early stopping, whole-state checkpoints that resume bit for
// bit, and hooks for logging (zap), metrics (JSONL), plots (PNG) and a
// progress bar.
//
// A model plugs in by implementing Model: its parameter Store and a Step
// that runs forward and backward on one micro-batch, adding gradients
// scaled by StepEnv.GradScale into Param.Grad. Batches come from a
// Sampler with a resumable position (IndexSampler adapts a
// data.BatchSampler: length-bucketed, sequential or an explicit order, and
// reports each batch's example indices in StepInfo.Batches). Run reads the
// loop top to bottom:
//
//	for step < MaxSteps:
//	    for each of GradAccum micro-batches: batch ← sampler; loss ← model.Step
//	    NaN/Inf guard; clip the global grad norm; AdamW; schedule; zero grads
//	    hooks.OnStep; every EvalEvery: evaluate, best model, early stopping
//	    every SaveEvery: checkpoint-<step>/ (weights, moments, RNG, position)
//
// A checkpoint directory holds model.safetensors (the reference's keys),
// optimizer.safetensors ("<param>.exp_avg", "<param>.exp_avg_sq") and
// trainer_state.json (step, sampler position, optimizer step counts, the
// loop's random stream, the Stateful components' states, best score and
// patience counter). It is written into a temporary directory and renamed,
// so a killed run leaves either the whole checkpoint or none.
package train
