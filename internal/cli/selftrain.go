package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/internal/dirlock"
	"github.com/gliner-go/gliner/selftrain"
	"github.com/gliner-go/gliner/train"
)

// NewSelftrainCmd returns the selftrain command (cmd/selftrain, `gliner
// selftrain`).
func NewSelftrainCmd(stdout, stderr io.Writer) *cobra.Command {
	var recipe, device string
	var sets []string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "selftrain --recipe FILE [--set key.path=value ...]",
		Short: "Self-train GLiNER on a domain corpus with weak labels",
		Long: `Rounds of teacher → weak labels → student: the teacher labels the corpus, a
student is fine-tuned on the weak labels, and becomes the next round's
teacher (recipes/selftrain.yaml documents every field). A run stopped by
Ctrl-C, SIGTERM or a crash and restarted with the same recipe continues from
its last finished step: a student saves a checkpoint before it exits. A
second run on an output_dir in use by another (its lock file .gliner.lock
is held) is refused, naming the holder's pid; a lock left by a killed run
does not block.

Progress goes to standard error (the first teacher's and each student's
steps, the documents the teacher has labelled); each round's dev F1 and a
table of its weak labels per label go to standard output.

Built with -tags mpi and started by mpirun, the teacher training and the
students run data-parallel over the ranks; rank 0 alone labels, evaluates,
writes output_dir and prints; see the README's data-parallel section.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if recipe == "" {
				return fmt.Errorf("--recipe is required")
			}
			// Only the CPU runs models today: any other device is refused
			// with the reason (build tag, missing GPU, or not wired yet).
			if _, err := cuda.Select("--device", device); err != nil {
				return err
			}
			// Under mpirun this process is one rank of a data-parallel job
			// (the students, and a teacher trained from a recipe, train
			// data-parallel; rank 0 alone labels, evaluates, writes and
			// prints); an error on any rank aborts the whole job.
			comm, err := dist.Init()
			if err != nil {
				return err
			}
			defer closeComm(comm, "selftrain", stderr, &err)
			r, err := selftrain.LoadRecipe(recipe, sets)
			if err != nil {
				return err
			}
			folder := newRunFolder(r.OutputDir)
			lg, closeLog := zap.NewNop(), func() error { return nil }
			var lock *dirlock.Lock
			defer func() {
				closeLog()
				if err != nil && comm.Rank() == 0 {
					folder.cleanup(lock, finetune.LogFile)
				}
				// A lock file left behind blocks no later run.
				_ = lock.Release()
			}()
			if comm.Rank() == 0 {
				// Rank 0 alone holds output_dir's lock (a second run on it
				// is refused) and writes the log.
				if lock, err = dirlock.Acquire(r.OutputDir); err != nil {
					return err
				}
				if lg, closeLog, err = finetune.NewLogger(r.OutputDir, nil); err != nil {
					return err
				}
			} else {
				// The other ranks print nothing and show no progress.
				stdout, quiet = io.Discard, true
			}
			ctx, stop := SignalContext(context.Background(), stderr, "the student saves a checkpoint of its last finished step")
			defer stop()
			opts := selftrain.RunOptions{Logger: lg, Out: stdout, Comm: comm}
			if !quiet {
				// The bar on stderr; the round lines on stdout clear it
				// first and redraw it after.
				opts.Progress = train.NewProgress(stderr)
				opts.Out = opts.Progress.Above(stdout)
			}
			res, err := selftrain.RunRecipe(ctx, r, opts)
			if err != nil {
				if errors.Is(err, train.ErrInterrupted) || errors.Is(err, context.Canceled) {
					return fmt.Errorf("%w (%w): run the same command again to continue", train.ErrInterrupted, err)
				}
				return err
			}
			fmt.Fprintf(stdout, "stopped after round %d (%s); best: round %d, %s\nreport: %s, %s\n",
				res.Rounds[len(res.Rounds)-1].Round, res.Reason, res.BestRound, res.BestModel,
				filepath.Join(r.OutputDir, selftrain.ReportJSONL), filepath.Join(r.OutputDir, selftrain.ReportPNG))
			return nil
		},
	}
	cmd.Flags().StringVar(&recipe, "recipe", "", "self-training recipe YAML `file` (required)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a recipe field: key.path=value (repeatable)")
	cmd.Flags().StringVar(&device, "device", "cpu", "where the teacher and students run: cpu, cuda or cuda:N (CUDA needs a binary built with -tags glcuda)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress display (the per-round results are still printed)")
	return cmd
}
