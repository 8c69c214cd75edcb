package main

import (
	"runtime"
	"strings"
	"testing"
)

// Every command answers --version; train and selftrain are subcommands;
// help texts are current (no flag placeholder taken from a backticked
// command name, train no longer says UniEncoderSpan only).
func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"predict", "--version"}, {"data", "convert", "--version"}, {"train", "--version"}, {"selftrain", "--version"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "gliner-go ") || !strings.Contains(stdout, runtime.Version()) {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	_, help, _ := runCLI(t, "predict", "--help")
	if !strings.Contains(help, "--label-embeddings FILE ") || strings.Contains(help, "--label-embeddings gliner") {
		t.Errorf("predict --help:\n%s", help)
	}
	_, help, _ = runCLI(t, "train", "--help")
	for _, w := range []string{"UniEncoderSpanRelex", "BiEncoderSpan", "--recipe file", "--resume"} {
		if !strings.Contains(help, w) {
			t.Errorf("train --help lacks %q:\n%s", w, help)
		}
	}
	if code, _, stderr := runCLI(t, "selftrain"); code != 1 || !strings.Contains(stderr, "gliner: --recipe is required") {
		t.Errorf("gliner selftrain without a recipe: code %d, %q", code, stderr)
	}
}
