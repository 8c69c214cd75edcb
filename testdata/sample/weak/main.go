// Command weak writes testdata/sample/train_weak.jsonl, the weakly
// labelled stage-1 set of recipes/bi_encoder_two_stage.yaml: every
// example of train.jsonl twice (two independent noise draws), with each
// entity dropped with probability 0.25 or given another of the sample's
// labels with probability 0.15, from a fixed PCG seed, so the file is
// reproducible:
//
//	go run ./testdata/sample/weak -dir testdata/sample          # regenerate
//	go run ./testdata/sample/weak -dir testdata/sample -check   # verify
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
)

type record struct {
	Words []string `json:"tokenized_text"`
	NER   [][3]any `json:"ner"`
}

func main() {
	dir := flag.String("dir", "testdata/sample", "folder with train.jsonl")
	check := flag.Bool("check", false, "verify train_weak.jsonl instead of writing it")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "weak:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	src := filepath.Join(dir, "train.jsonl")
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var recs []record
	labelSet := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s line %d: %w", src, line, err)
		}
		for i, e := range r.NER {
			l, ok := e[2].(string)
			if !ok {
				return fmt.Errorf("%s line %d: entity %d has no string label", src, line, i)
			}
			labelSet[l] = true
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	labels := make([]string, 0, len(labelSet))
	for l := range labelSet {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	rng := rand.New(rand.NewPCG(2024, 6))
	var out bytes.Buffer
	for copyN := 0; copyN < 2; copyN++ {
		for _, r := range recs {
			w := record{Words: r.Words, NER: [][3]any{}}
			for _, e := range r.NER {
				u := rng.Float64()
				switch {
				case u < 0.25:
					continue
				case u < 0.40:
					old := e[2].(string)
					l := labels[rng.IntN(len(labels))]
					for l == old {
						l = labels[rng.IntN(len(labels))]
					}
					e = [3]any{e[0], e[1], l}
				}
				w.NER = append(w.NER, e)
			}
			b, err := json.Marshal(w)
			if err != nil {
				return err
			}
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	dst := filepath.Join(dir, "train_weak.jsonl")
	if check {
		have, err := os.ReadFile(dst)
		if err != nil {
			return err
		}
		if !bytes.Equal(have, out.Bytes()) {
			return fmt.Errorf("%s differs from what the generator writes: regenerate it", dst)
		}
		return nil
	}
	return os.WriteFile(dst, out.Bytes(), 0o644)
}
