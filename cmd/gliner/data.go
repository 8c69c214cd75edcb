package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/fileio"
)

func init() { registerCommand(newDataCmd) }

// loadTokenizer loads the tokenizer used by `data stats --tokenizer`
// (a variable so tests can count sub-tokens without a model folder).
var loadTokenizer = func(dir string) (tokenizer.Tokenizer, error) { return tokenizer.Load(dir) }

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Validate, convert and describe GLiNER datasets",
		Long: `Dataset formats (chosen from the extension, or named with --from/--to):
  json        .json      a list of {"tokenized_text", "ner", "relations", ...}
  jsonl       .jsonl     one such record per line (also reads {"text", "entities"} records)
  parquet     .parquet   Parquet with list columns
  arrow       .arrow     Arrow IPC file
  conll       .conll     "word tag" or "word pos chunk tag", BIO/IOB1, blank line between sentences
  text        .txt       raw text, one document per line
  text-jsonl  (none)     {"text", "entities": [{"start","end","label"}]} with character offsets`,
	}
	cmd.AddCommand(newValidateCmd(), newConvertCmd(), newStatsCmd())
	return cmd
}

func openFlags(cmd *cobra.Command, from *string) {
	cmd.Flags().StringVar(from, "from", "", "input format (default: from the extension)")
}

func openInput(path, from string, lower bool) (data.Reader, error) {
	f, err := data.ParseFormat(from)
	if err != nil {
		return nil, err
	}
	return data.OpenReader(path, data.ReadOptions{Format: f, LowercaseLabels: lower})
}

func newValidateCmd() *cobra.Command {
	var from string
	var maxWords int
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Report every bad example (file:line, [index] or row, and why); exit 1 if any",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openInput(args[0], from, false)
			if err != nil {
				return err
			}
			defer r.Close()
			rep := &data.Report{}
			long := 0
			err = data.Each(r, data.Skip, rep, func(ex data.Example) error {
				if maxWords > 0 && len(ex.Words) > maxWords {
					long++
				}
				return nil
			})
			out := cmd.OutOrStdout()
			for _, p := range rep.Problems {
				fmt.Fprintln(out, p.Error())
			}
			printWarnings(out, rep)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s: %s\n", args[0], rep)
			if maxWords > 0 {
				fmt.Fprintf(out, "%d examples longer than %d words\n", long, maxWords)
			}
			if rep.Skipped > 0 {
				return fmt.Errorf("%s: %d bad examples", args[0], rep.Skipped)
			}
			return nil
		},
	}
	openFlags(cmd, &from)
	cmd.Flags().IntVar(&maxWords, "max-words", 0, "also count examples longer than this many words")
	return cmd
}

func newConvertCmd() *cobra.Command {
	var from, to, onError, long string
	var lower bool
	var maxWords, stride int
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a dataset between formats",
		Long: `Convert IN to OUT, streaming. Bad examples stop the conversion (--on-error fail, the
default) or are skipped and listed (--on-error skip). With --max-words, texts longer than
the window are split into overlapping windows (--long split, windows start every --stride
words), rejected, or truncated, and the counts are printed.

OUT is written to a temporary file beside it and renamed into place at the end: on
failure an existing OUT is left as it was. IN and OUT may not be the same file (also
through a symbolic or hard link). "-" is standard input (IN) or output (OUT); name its
format with --from or --to.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			policy, err := data.ParseErrorPolicy(onError)
			if err != nil {
				return err
			}
			winPolicy, err := data.ParseWindowPolicy(long)
			if err != nil {
				return err
			}
			if maxWords > 0 && stride == 0 {
				stride = max(1, maxWords/2)
			}
			toFormat, err := data.ParseFormat(to)
			if err != nil {
				return err
			}
			if fileio.SameFile(args[0], args[1]) {
				return fmt.Errorf("convert: %s and %s are the same file: writing it would destroy the input; name another output", args[0], args[1])
			}
			r, err := openInput(args[0], from, lower)
			if err != nil {
				return err
			}
			defer r.Close()
			w, err := data.CreateWriterTo(args[1], toFormat, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			rep := &data.Report{}
			written := 0
			err = data.Each(r, policy, rep, func(ex data.Example) error {
				windows := []data.Example{ex}
				if maxWords > 0 {
					var st data.WindowStats
					var werr error
					if windows, st, werr = data.Window(ex, maxWords, stride, winPolicy); werr != nil {
						return werr
					}
					rep.Window.Add(st)
				}
				for _, win := range windows {
					if err := w.Write(win); err != nil {
						return fmt.Errorf("write %s: %w", args[1], err)
					}
					written++
				}
				return nil
			})
			if err != nil {
				w.Abort()
			} else if cerr := w.Close(); cerr != nil {
				err = fmt.Errorf("write %s: %w", args[1], cerr)
			}
			errOut := cmd.ErrOrStderr()
			for _, p := range rep.Problems {
				fmt.Fprintln(errOut, "skipped", p.Error())
			}
			printWarnings(errOut, rep)
			if err != nil {
				return err
			}
			fmt.Fprintf(errOut, "%s -> %s: %s; %d examples written\n", args[0], args[1], rep, written)
			return nil
		},
	}
	openFlags(cmd, &from)
	cmd.Flags().StringVar(&to, "to", "", "output format (default: from the extension)")
	cmd.Flags().BoolVar(&lower, "lowercase-labels", false, "lower-case entity and relation labels")
	cmd.Flags().StringVar(&onError, "on-error", "fail", "what to do with a bad example: fail or skip")
	cmd.Flags().IntVar(&maxWords, "max-words", 0, "window texts longer than this many words (0: no windowing)")
	cmd.Flags().IntVar(&stride, "stride", 0, "words between window starts (default max-words/2)")
	cmd.Flags().StringVar(&long, "long", "split", "long texts: split, reject or truncate")
	return cmd
}

func newStatsCmd() *cobra.Command {
	var from, tokDir string
	cmd := &cobra.Command{
		Use:   "stats FILE",
		Short: "Count examples, words, entities per label, longest text (words, sub-tokens)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tok tokenizer.Tokenizer
			if tokDir != "" {
				var err error
				if tok, err = loadTokenizer(tokDir); err != nil {
					return fmt.Errorf("load tokenizer %s: %w", tokDir, err)
				}
			}
			r, err := openInput(args[0], from, false)
			if err != nil {
				return err
			}
			defer r.Close()
			var st data.Stats
			rep := &data.Report{}
			err = data.Each(r, data.Skip, rep, func(ex data.Example) error {
				st.Add(ex)
				if tok != nil {
					_, wordIDs, err := tok.EncodeWords(ex.Words)
					if err != nil {
						return fmt.Errorf("%s: tokenize: %w", ex.Source, err)
					}
					st.AddSubTokens(ex, countTextTokens(wordIDs))
				}
				return nil
			})
			printWarnings(cmd.ErrOrStderr(), rep)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			st.WriteTo(out)
			if rep.Skipped > 0 {
				fmt.Fprintf(out, "bad examples (not counted above) %d; run `gliner data validate %s` for the list\n", rep.Skipped, args[0])
			}
			return nil
		},
	}
	openFlags(cmd, &from)
	cmd.Flags().StringVar(&tokDir, "tokenizer", "", "model or tokenizer folder: also count sub-tokens")
	return cmd
}

// countTextTokens counts the sub-tokens that belong to a word (wordID >= 0).
func countTextTokens(wordIDs []int) int {
	n := 0
	for _, w := range wordIDs {
		if w >= 0 {
			n++
		}
	}
	return n
}
