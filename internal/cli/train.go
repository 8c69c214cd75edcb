package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/internal/dirlock"
	"github.com/gliner-go/gliner/train"
)

// NewTrainCmd returns the train command (cmd/train, `gliner train`).
func NewTrainCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		recipe      string
		sets        []string
		resume      bool
		quiet       bool
		printRecipe bool
	)
	cmd := &cobra.Command{
		Use:   "train --recipe RECIPE.yaml [--set key.path=value ...] [--resume]",
		Short: "Fine-tune a GLiNER model from a recipe",
		Long: `train fine-tunes a GLiNER model from a recipe (see recipes/*.yaml, where every
field is documented). The recipe's model section gives the architecture: a
UniEncoderSpan by default, a UniEncoderSpanRelex with model.relex, a
UniEncoderSpanDecoder with model.decoder, a BiEncoderSpan with
model.bi_encoder, and with model.prev_path the GLiNER folder's own config. A
recipe with stages runs them in order, each from the previous stage's best
model.

It writes into training.output_dir: recipe.yaml, metrics.jsonl, train.png,
train.log, checkpoint-<step>/, best/ and final/ (the best model as a GLiNER
folder), and prints the final dev F1.

An output_dir that already holds checkpoints is refused unless --resume is
given; --resume continues from its latest checkpoint (or starts afresh if
there is none), bit for bit. A second run on an output_dir in use by another
(its lock file .gliner.lock is held) is refused, naming the holder's pid;
a lock left by a killed run does not block. Ctrl-C or SIGTERM saves a checkpoint of the
last finished step before the command exits (status 130). A run whose
gradient norm stays exactly 0 (a dead model, typically from a learning
rate too large) stops with an error instead of exporting it.

Started by mpirun (a binary built with -tags mpi), every process is one rank
of a data-parallel run: train_batch_size is the global batch, split over the
ranks, and rank 0 alone writes output_dir and prints; see the README's
data-parallel section.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if recipe == "" {
				return fmt.Errorf("--recipe is required")
			}
			// Under mpirun this process is one rank of a data-parallel job;
			// an error on any rank aborts the whole job (MPI_Abort), so the
			// other ranks do not wait for it.
			comm, err := dist.Init()
			if err != nil {
				return err
			}
			defer closeComm(comm, "train", stderr, &err)
			r, err := finetune.LoadRecipe(recipe, sets)
			if err != nil {
				return err
			}
			if printRecipe {
				b, err := r.YAML()
				if err != nil {
					return err
				}
				_, err = stdout.Write(b)
				return err
			}
			// The console log goes through the progress bar, which clears
			// itself before a log line and redraws after.
			var console io.Writer
			var progress *train.ProgressHook
			if !quiet {
				progress = train.NewProgress(stderr)
				console = progress
			}
			folder := newRunFolder(r.Training.OutputDir)
			lg, closeLog := zap.NewNop(), func() error { return nil }
			var lock *dirlock.Lock
			defer func() {
				closeLog()
				if err != nil && comm.Rank() == 0 {
					folder.cleanup(lock, finetune.LogFile, finetune.RecipeFile)
				}
				// A lock file left behind blocks no later run.
				_ = lock.Release()
			}()
			if comm.Rank() == 0 {
				// Rank 0 alone holds output_dir's lock (a second run on
				// it is refused, --resume included), writes the log and
				// prints; the other ranks report only their errors.
				if lock, err = dirlock.Acquire(r.Training.OutputDir); err != nil {
					return err
				}
				if lg, closeLog, err = finetune.NewLogger(r.Training.OutputDir, console); err != nil {
					return err
				}
			} else {
				stdout, quiet = io.Discard, true
			}
			ctx, stop := SignalContext(context.Background(), stderr, "saving a checkpoint of the last finished step")
			defer stop()
			opts := finetune.Options{Resume: resume, Logger: lg, Comm: comm}
			if progress != nil && !quiet {
				opts.Progress = progress
			}
			if len(r.Stages) > 0 {
				stages, err := finetune.RunStages(ctx, r, opts)
				if err != nil {
					return err
				}
				for _, st := range stages {
					fmt.Fprintf(stdout, "stage %s: steps %d (%s), model exported to %s\n", st.Name, st.Train.Steps, st.Train.Reason, st.FinalDir)
					if st.Dev != nil {
						m := st.Dev.Micro()
						fmt.Fprintf(stdout, "stage %s dev F1 %.4f (precision %.4f, recall %.4f; best step %d)\n", st.Name, m.F1, m.Precision, m.Recall, st.Train.BestStep)
					}
				}
				if last := stages[len(stages)-1]; last.Dev != nil {
					fmt.Fprint(stdout, last.Dev.Table())
				}
				return nil
			}
			res, err := finetune.Run(ctx, r, opts)
			if err != nil {
				if errors.Is(err, train.ErrInterrupted) && res != nil && res.Train != nil {
					if ck := res.Train.LastCheckpoint; ck != "" {
						return fmt.Errorf("%w after step %d; checkpoint %s saved: continue with --resume", train.ErrInterrupted, res.Train.Steps, ck)
					}
					return fmt.Errorf("%w before the first step: nothing to save", train.ErrInterrupted)
				}
				return err
			}
			fmt.Fprintf(stdout, "steps %d (%s), model exported to %s\n", res.Train.Steps, res.Train.Reason, res.FinalDir)
			if res.Dev != nil {
				m := res.Dev.Micro()
				fmt.Fprintf(stdout, "dev F1 %.4f (precision %.4f, recall %.4f; best step %d)\n", m.F1, m.Precision, m.Recall, res.Train.BestStep)
				fmt.Fprint(stdout, res.Dev.Table())
				if r := res.DevRelations; r != nil {
					rm := r.Micro()
					fmt.Fprintf(stdout, "dev relation F1 %.4f (precision %.4f, recall %.4f)\n", rm.F1, rm.Precision, rm.Recall)
					fmt.Fprint(stdout, r.Table())
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&recipe, "recipe", "", "recipe YAML `file` (required)")
	f.StringArrayVar(&sets, "set", nil, "override a recipe field, e.g. --set training.num_steps=200 (repeatable)")
	f.BoolVar(&resume, "resume", false, "continue from the latest checkpoint in training.output_dir")
	f.BoolVar(&quiet, "quiet", false, "no console log or progress bar (the log file is still written)")
	f.BoolVar(&printRecipe, "print-recipe", false, "print the resolved recipe (defaults and --set applied) and exit")
	return cmd
}
