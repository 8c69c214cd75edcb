package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String() + errb.String()
}

func TestBadInput(t *testing.T) {
	root := testutil.RepoRoot(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(root, "testdata", "sample", "corpus.txt")
	recipe := func(teacher, extra string) string {
		p := filepath.Join(t.TempDir(), "r.yaml")
		y := fmt.Sprintf("output_dir: %s\nteacher:\n  model: %s\nstudent:\n  recipe: %s\ncorpus:\n  files: [%s]\nweak_labels:\n  labels: [person]\n%s",
			filepath.Join(dir, "out"), teacher, filepath.Join(root, "recipes", "uni_span_sample.yaml"), corpus, extra)
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	span := testutil.Fixture(t, "uni_span_bert")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no labels":            {[]string{"--recipe", recipe(span, ""), "--set", "weak_labels.labels=[]"}, "weak_labels.labels is empty"},
		"no recipe":            {nil, "--recipe is required"},
		"missing recipe":       {[]string{"--recipe", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		"patience without dev": {[]string{"--recipe", recipe(span, "patience: 1\n")}, "needs a dev set"},
		"bad --set":            {[]string{"--recipe", recipe(span, ""), "--set", "roundz=2"}, "roundz"},
		"empty corpus":         {[]string{"--recipe", recipe(span, ""), "--set", "corpus.files=[" + empty + "]"}, "empty: no document to label"},
		"missing corpus":       {[]string{"--recipe", recipe(span, ""), "--set", "corpus.files=[" + filepath.Join(dir, "nope.txt") + "]"}, "nope.txt"},
		"relex teacher":        {[]string{"--recipe", recipe(testutil.Fixture(t, "uni_span_relex_deberta"), "")}, "cannot teach entity labels"},
	} {
		code, out := runCLI(t, c.args...)
		if code != 1 || !strings.Contains(out, c.want) || !strings.HasPrefix(strings.TrimSpace(out), "selftrain:") && !strings.Contains(out, "selftrain:") {
			t.Errorf("%s: exit %d, output %q; want exit 1 and %q", name, code, out, c.want)
		}
		// A run that fails before it starts leaves no run folder behind.
		if ents, err := os.ReadDir(filepath.Join(dir, "out")); !os.IsNotExist(err) {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("%s: the failed run left %s (%v, holding %v)", name, filepath.Join(dir, "out"), err, names)
			_ = os.RemoveAll(filepath.Join(dir, "out"))
		}
	}
}

func TestVersion(t *testing.T) {
	code, out := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "gliner-go ") {
		t.Fatalf("--version: exit %d, %q", code, out)
	}
}
