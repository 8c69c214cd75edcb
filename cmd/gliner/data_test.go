package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodJSONL = `{"tokenized_text": ["Ann", "Lee", "visited", "Oslo", "."], "ner": [[0, 1, "Person"], [3, 3, "Location"]]}
{"tokenized_text": ["Acme", "hired", "Bo", "."], "ner": [[0, 0, "Organization"], [2, 2, "Person"]]}
`

func TestValidateSampleData(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "testdata", "sample")
	for file, n := range map[string]int{"train.jsonl": 320, "dev.jsonl": 80, "train_relex.jsonl": 96, "dev_relex.jsonl": 24, "corpus.txt": 200} {
		code, out, errs := runCLI(t, "data", "validate", filepath.Join(dir, file))
		want := filepath.Join(dir, file) + ": " + strings.Replace("N examples read, N kept, 0 skipped", "N", strconv.Itoa(n), 2) + "\n"
		if code != 0 || out != want {
			t.Errorf("%s: code %d, stdout %q (want %q), stderr %q", file, code, out, want, errs)
		}
	}
}

func TestValidateReportsEveryBadExample(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.jsonl", goodJSONL+
		`{"tokenized_text": ["a", "b"], "ner": [[1, 0, "x"]]}`+"\n"+
		`{"tokenized_text": ["a"], "ner": [[0, 0, "x"]], "relations": [[0, 2, "r"]]}`+"\n")
	code, out, errs := runCLI(t, "data", "validate", bad, "--max-words", "3")
	want := "bad.jsonl:3: ner[0]: end 0 < start 1\n" +
		"bad.jsonl:4: relations[0]: tail 2 is not an entity index (1 entities)\n" +
		bad + ": 4 examples read, 2 kept, 2 skipped\n" +
		"2 examples longer than 3 words\n"
	if code != 1 || out != want || !strings.Contains(errs, "gliner: "+bad+": 2 bad examples") {
		t.Errorf("code %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errs)
	}
}

func TestConvertChain(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL)
	conll := filepath.Join(dir, "mid.bio")
	if code, _, errs := runCLI(t, "data", "convert", in, conll); code != 0 {
		t.Fatalf("to conll: %s", errs)
	}
	got, _ := os.ReadFile(conll)
	wantCoNLL := "Ann B-Person\nLee I-Person\nvisited O\nOslo B-Location\n. O\n\nAcme B-Organization\nhired O\nBo B-Person\n. O\n\n"
	if string(got) != wantCoNLL {
		t.Errorf("conll: %q", got)
	}
	out := filepath.Join(dir, "out.json")
	code, _, errs := runCLI(t, "data", "convert", conll, out, "--lowercase-labels")
	if code != 0 || errs != conll+" -> "+out+": 2 examples read, 2 kept, 0 skipped; 2 examples written\n" {
		t.Fatalf("to json: code %d, %q", code, errs)
	}
	got, _ = os.ReadFile(out)
	wantJSON := `[
{"tokenized_text":["Ann","Lee","visited","Oslo","."],"ner":[[0,1,"person"],[3,3,"location"]]},
{"tokenized_text":["Acme","hired","Bo","."],"ner":[[0,0,"organization"],[2,2,"person"]]}
]
`
	if string(got) != wantJSON {
		t.Errorf("json: %s", got)
	}
	// Explicit formats: CoNLL written to a .txt name and read back from it.
	txt := filepath.Join(dir, "conll.txt")
	if code, _, errs := runCLI(t, "data", "convert", out, txt, "--to", "conll"); code != 0 {
		t.Fatal(errs)
	}
	back := filepath.Join(dir, "back.jsonl")
	if code, _, errs := runCLI(t, "data", "convert", txt, back, "--from", "conll"); code != 0 {
		t.Fatal(errs)
	}
	exs, err := data.ReadFile(back, data.ReadOptions{}, data.FailFast, nil)
	if err != nil || len(exs) != 2 || exs[1].Entities[0] != (data.Entity{Start: 0, End: 0, Label: "organization"}) {
		t.Errorf("back: %+v %v", exs, err)
	}
}

func TestConvertErrorPolicies(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", `{"tokenized_text": ["a"], "ner": [[0, 3, "x"]]}`+"\n"+goodJSONL)
	out := filepath.Join(dir, "out.jsonl")
	code, _, errs := runCLI(t, "data", "convert", in, out)
	if code != 1 || !strings.Contains(errs, "in.jsonl:1: ner[0]: span [0, 3] runs past the text") {
		t.Errorf("fail policy: code %d, %q", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed conversion left %s behind", out)
	}
	code, _, errs = runCLI(t, "data", "convert", in, out, "--on-error", "skip")
	if code != 0 || !strings.Contains(errs, "skipped in.jsonl:1: ner[0]") || !strings.Contains(errs, "3 examples read, 2 kept, 1 skipped; 2 examples written") {
		t.Errorf("skip policy: code %d, %q", code, errs)
	}
	code, _, errs = runCLI(t, "data", "convert", in, out, "--on-error", "ignore")
	if code != 1 || !strings.Contains(errs, `unknown error policy "ignore" (valid: fail, skip)`) {
		t.Errorf("bad policy: %q", errs)
	}
	code, _, errs = runCLI(t, "data", "convert", in, out, "--to", "xml")
	if code != 1 || !strings.Contains(errs, `unknown dataset format "xml"`) || !strings.Contains(errs, "conll") {
		t.Errorf("bad format: %q", errs)
	}
	// Overlapping entities cannot become BIO: an error naming the example.
	nested := writeFile(t, dir, "nested.jsonl", `{"tokenized_text": ["New", "York"], "ner": [[0, 1, "loc"], [0, 0, "x"]]}`+"\n")
	code, _, errs = runCLI(t, "data", "convert", nested, filepath.Join(dir, "n.conll"))
	if code != 1 || !strings.Contains(errs, "nested.jsonl:1: ner[1] [0, 0, \"x\"] overlaps another entity") {
		t.Errorf("nested to conll: %q", errs)
	}
}

func TestConvertWindows(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL)
	out := filepath.Join(dir, "out.jsonl")
	code, _, errs := runCLI(t, "data", "convert", in, out, "--max-words", "3", "--stride", "2")
	// "Ann Lee visited Oslo ." -> [Ann Lee visited] [visited Oslo .]; "Acme hired Bo ." -> [Acme hired Bo] [Bo .]
	wantSummary := "2 examples read, 2 kept, 0 skipped; 2 long texts -> 4 windows, 0 entity cuts, 0 entities and 0 relations in no window, 0 words truncated; 4 examples written"
	if code != 0 || !strings.Contains(errs, wantSummary) {
		t.Fatalf("code %d %q", code, errs)
	}
	got, _ := os.ReadFile(out)
	want := `{"tokenized_text":["Ann","Lee","visited"],"ner":[[0,1,"Person"]]}
{"tokenized_text":["visited","Oslo","."],"ner":[[1,1,"Location"]]}
{"tokenized_text":["Acme","hired","Bo"],"ner":[[0,0,"Organization"],[2,2,"Person"]]}
{"tokenized_text":["Bo","."],"ner":[[0,0,"Person"]]}
`
	if string(got) != want {
		t.Errorf("windows:\n%s", got)
	}
	code, _, errs = runCLI(t, "data", "convert", in, out, "--max-words", "4", "--long", "reject")
	if code != 1 || !strings.Contains(errs, "in.jsonl:1: text has 5 words, more than the maximum 4") {
		t.Errorf("reject: %q", errs)
	}
}

// charTok counts one sub-token per rune, plus [CLS]/[SEP].
type charTok struct{ tokenizer.Tokenizer }

func (charTok) EncodeWords(words []string) ([]int, []int, error) {
	ids, wids := []int{101}, []int{-1}
	for w, s := range words {
		for range s {
			ids, wids = append(ids, 1), append(wids, w)
		}
	}
	return append(ids, 102), append(wids, -1), nil
}

func TestStats(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL+`{"tokenized_text": ["x"], "ner": [[0, 1, "y"]]}`+"\n")
	code, out, errs := runCLI(t, "data", "stats", in)
	want := `examples           2
words              9
words per example  4.5
longest (words)    5  (in.jsonl:1)
entities           4
  Person                   2
  Location                 1
  Organization             1
bad examples (not counted above) 1; run ` + "`gliner data validate " + in + "`" + ` for the list
`
	if code != 0 || out != want {
		t.Errorf("code %d stderr %q\nstdout %q\nwant   %q", code, errs, out, want)
	}
	old := loadTokenizer
	defer func() { loadTokenizer = old }()
	var gotDir string
	loadTokenizer = func(dir string) (tokenizer.Tokenizer, error) { gotDir = dir; return charTok{}, nil }
	code, out, _ = runCLI(t, "data", "stats", in, "--tokenizer", "/models/x")
	// Texts: "AnnLeevisitedOslo." = 18 runes, "Acmehiredbo." = 12.
	if code != 0 || gotDir != "/models/x" || !strings.Contains(out, "sub-tokens         30\nlongest (sub-tokens, text only) 18  (in.jsonl:1)\n") {
		t.Errorf("with tokenizer: code %d dir %q\n%s", code, gotDir, out)
	}
}

func TestRootHelpListsData(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != 0 || !strings.Contains(out, "data        Validate, convert and describe GLiNER datasets") {
		t.Errorf("help: %q", out)
	}
	code, _, errs := runCLI(t, "data", "validate")
	if code != 1 || !strings.Contains(errs, "accepts 1 arg(s), received 0") {
		t.Errorf("missing arg: %q", errs)
	}
}

// --device on predict, evaluate and labels embed: cpu is the default, a
// CUDA device is refused naming the flag (and the build tag in a binary
// without it), before the model is read.
func TestDeviceFlag(t *testing.T) {
	for _, args := range [][]string{
		{"predict", "--model", "no-such-model", "--labels", "person", "--device", "cuda"},
		{"evaluate", "--model", "no-such-model", "--data", "x.jsonl", "--device", "cuda:1"},
		{"labels", "embed", "--model", "no-such-model", "--labels", "l.txt", "--output", "o.st", "--device", "cuda"},
	} {
		code, _, errs := runCLI(t, args...)
		if code == 0 || !strings.Contains(errs, "--device: cuda") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		if !cuda.Built && !strings.Contains(errs, "-tags glcuda") {
			t.Errorf("%v: stderr does not name the build flag: %q", args, errs)
		}
	}
	code, _, errs := runCLI(t, "predict", "--model", "no-such-model", "--labels", "person", "--device", "gpu")
	if code == 0 || !strings.Contains(errs, "cpu, cuda, cuda:N") {
		t.Errorf("--device gpu: exit %d, stderr %q", code, errs)
	}
}
