package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/finetune"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		recipe      string
		sets        []string
		resume      bool
		quiet       bool
		printRecipe bool
	)
	cmd := &cobra.Command{
		Use:   "train --recipe RECIPE.yaml [--set key.path=value ...] [--resume]",
		Short: "Fine-tune a GLiNER span model from a recipe",
		Long: `train fine-tunes a GLiNER UniEncoderSpan model from a recipe (see recipes/*.yaml,
where every field is documented). It writes into training.output_dir: recipe.yaml,
metrics.jsonl, train.png, train.log, checkpoint-<step>/, best/ and final/ (the best
model as a GLiNER folder), and prints the final dev F1.

An output_dir that already holds checkpoints is refused unless --resume is given;
--resume continues from its latest checkpoint (or starts afresh if there is none).`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if recipe == "" {
				return fmt.Errorf("--recipe is required")
			}
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
			var console io.Writer = stderr
			if quiet {
				console = nil
			}
			lg, closeLog, err := finetune.NewLogger(r.Training.OutputDir, console)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := finetune.Options{Resume: resume, Logger: lg}
			if !quiet {
				opts.Progress = stderr
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
	f.StringVar(&recipe, "recipe", "", "recipe YAML file (required)")
	f.StringArrayVar(&sets, "set", nil, "override a recipe field, e.g. --set training.num_steps=200 (repeatable)")
	f.BoolVar(&resume, "resume", false, "continue from the latest checkpoint in training.output_dir")
	f.BoolVar(&quiet, "quiet", false, "no console log or progress bar (the log file is still written)")
	f.BoolVar(&printRecipe, "print-recipe", false, "print the resolved recipe (defaults and --set applied) and exit")
	return cmd
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := newRootCmd(stdout, stderr)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return 1
	}
	return 0
}
