package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/infer"
)

// relationCount is predict's summary of relations (empty for models
// without relations).
func relationCount(res *infer.Result) string {
	if res.Relations == nil {
		return ""
	}
	n := 0
	for _, r := range res.Relations {
		n += len(r)
	}
	return fmt.Sprintf(", %d relations", n)
}

// writeRelationTable writes evaluate's relation scores after the entity
// table (nothing for models without relations).
func writeRelationTable(w io.Writer, rm *decode.RelationMetrics, pf predictFlags, exs []data.Example) error {
	if rm == nil {
		return nil
	}
	rels := pf.relations
	if len(rels) == 0 {
		rels = infer.DataRelationLabels(exs)
	}
	thr := pf.relThreshold
	if thr == 0 {
		thr = pf.threshold
	}
	if _, err := fmt.Fprintf(w, "\nrelations (strict: both entity spans and the type), types %s, relation threshold %v\n",
		strings.Join(rels, ","), thr); err != nil {
		return err
	}
	_, err := io.WriteString(w, rm.Table())
	return err
}

// checkLabelsInData refuses an evaluation in which none of the given labels
// occurs in the gold data (every score would be 0: a typo or the wrong
// file), and warns about the ones that do not occur.
func checkLabelsInData(labels []string, exs []data.Example, path string, warn io.Writer) error {
	gold := map[string]bool{}
	for _, l := range infer.DataLabels(exs) {
		gold[l] = true
	}
	var absent []string
	for _, l := range labels {
		if !gold[l] {
			absent = append(absent, l)
		}
	}
	switch {
	case len(absent) == len(labels):
		return fmt.Errorf("evaluate: none of the labels %q occurs in %s (its labels: %q)", labels, path, infer.DataLabels(exs))
	case len(absent) > 0:
		fmt.Fprintf(warn, "warning: labels %q do not occur in %s; their predictions all count as false positives\n", absent, path)
	}
	return nil
}
