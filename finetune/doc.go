// Package finetune fine-tunes a GLiNER model of any of the eight
// architectures end to end from a recipe: strict YAML in the reference's
// config layout (model / data / training sections, `--set key.path=value`
// overrides typed by the field), model construction from a GLiNER folder
// (prev_path), a Hugging Face encoder folder (model_name: special tokens
// added and embeddings resized as the reference does, head randomly
// initialised) or a random encoder with a vocabulary built from the training
// data (encoder_config), the train.Model adapter, dev evaluation (micro and
// per-label P/R/F1), and export of the best model as a GLiNER folder.
//
// Run is the whole pipeline; cmd/train wires its flags to it:
//
//	r, _ := finetune.LoadRecipe("recipes/uni_span_sample.yaml", []string{"training.num_steps=200"})
//	res, _ := finetune.Run(ctx, r, finetune.Options{Resume: true})
//	fmt.Println(res.FinalDir, res.Dev.Micro().F1)
//
// A training loop of one's own uses the pieces Run is made of (custom.go,
// ExampleStepModel): LoadData, BuildModel, NewTrainCollator, NewSampler
// (training.sampler: length-bucketed, sequential or an explicit order),
// PadTrainBatch and StepModel, the train.Model adapter that train.Run
// steps; with the recipe's settings it ends in the weights Run ends in.
// Evaluate scores a model and returns its predictions.
//
// Bi-encoders and stages: model.bi_encoder makes a new model a
// BiEncoderSpan (BiEncoderToken with span_mode token_level) whose labels
// encoder is a Hugging Face encoder folder (labels_encoder) or random
// (labels_encoder_config); its tokenizer is exported in labels_tokenizer/; training.freeze lists parameter-name prefixes kept
// fixed (no gradient, no optimizer state; a prefix matching nothing is an
// error); a recipe with stages: runs RunStages, each stage with its own
// data, steps or epochs, learning rates and freeze list, stage n+1 from
// stage n's exported best model (recipes/bi_encoder_two_stage.yaml).
// training.reference_compat reproduces the reference's loss and optimizer
// quirks (docs/reference_differences.md).
//
// training.output_dir receives recipe.yaml (the resolved recipe),
// metrics.jsonl, train.png, train.log, checkpoint-<step>/ (whole training
// state: weights, AdamW moments, random streams, sampler position) and
// best/, both model folders (gliner_config.json and the tokenizer files
// beside model.safetensors, so gliner predict, evaluate, export and
// model.prev_path take them), and final/ (the exported model). A run is resumed only when asked
// (Options.Resume, `train --resume`): it continues from the latest
// checkpoint and ends in the same weights as an uninterrupted run, bit for
// bit, when the model draws no random numbers of its own (dropout 0 in the
// GLiNER head and the encoder, training.negatives 1): models.Model does not
// expose its dropout stream, so with dropout a resumed run differs (a
// warning says so).
package finetune
