package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/selftrain"
)

func newRootCmd(stdout io.Writer) *cobra.Command {
	var recipe string
	var sets []string
	cmd := &cobra.Command{
		Use:   "selftrain --recipe FILE [--set key.path=value ...]",
		Short: "self-train GLiNER on a domain corpus with weak labels",
		Long: "Rounds of teacher → weak labels → student: the teacher labels the corpus, a student is\n" +
			"fine-tuned on the weak labels, and becomes the next round's teacher. A killed run restarted\n" +
			"with the same recipe continues from its last finished step.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if recipe == "" {
				return fmt.Errorf("--recipe is required")
			}
			r, err := selftrain.LoadRecipe(recipe, sets)
			if err != nil {
				return err
			}
			lg, closeLog, err := finetune.NewLogger(r.OutputDir, nil)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			res, err := selftrain.RunRecipe(ctx, r, selftrain.RunOptions{Logger: lg, Out: stdout})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "stopped after round %d (%s); best: round %d, %s\nreport: %s, %s\n",
				res.Rounds[len(res.Rounds)-1].Round, res.Reason, res.BestRound, res.BestModel,
				filepath.Join(r.OutputDir, selftrain.ReportJSONL), filepath.Join(r.OutputDir, selftrain.ReportPNG))
			return nil
		},
	}
	cmd.Flags().StringVar(&recipe, "recipe", "", "self-training recipe (YAML)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a recipe field: key.path=value (repeatable)")
	return cmd
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "selftrain:", err)
		return 1
	}
	return 0
}
