package main

import (
	"encoding/json"
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

// evaluatedRelations are the relation types evaluate scores (--relations,
// else the data's) and the relation threshold it applies
// (--relation-threshold, else --threshold).
func evaluatedRelations(pf predictFlags, exs []data.Example) ([]string, float64) {
	rels := pf.relations
	if len(rels) == 0 {
		rels = infer.DataRelationLabels(exs)
	}
	thr := pf.relThreshold
	if thr == 0 {
		thr = pf.threshold
	}
	return rels, thr
}

// writeRelationTable writes evaluate's relation scores after the entity
// table (nothing for models without relations).
func writeRelationTable(w io.Writer, rm *decode.RelationMetrics, pf predictFlags, exs []data.Example) error {
	if rm == nil {
		return nil
	}
	rels, thr := evaluatedRelations(pf, exs)
	if _, err := fmt.Fprintf(w, "\nrelations (strict: both entity spans and the type), types %s, relation threshold %v\n",
		strings.Join(rels, ","), thr); err != nil {
		return err
	}
	_, err := io.WriteString(w, rm.Table())
	return err
}

// jsonScore is one row of evaluate --json's scores.
type jsonScore struct {
	Label     string  `json:"label"`
	TP        int     `json:"tp"`
	Predicted int     `json:"predicted"`
	Gold      int     `json:"gold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

func toJSONScores(ss []decode.Score) []jsonScore {
	out := make([]jsonScore, len(ss))
	for i, s := range ss {
		out[i] = jsonScore{Label: s.Label, TP: s.TP, Predicted: s.Predicted, Gold: s.Gold, Precision: s.Precision, Recall: s.Recall, F1: s.F1}
	}
	return out
}

// jsonEvaluation is what evaluate --json prints.
type jsonEvaluation struct {
	Data      string          `json:"data"`
	Documents int             `json:"documents"`
	Labels    []string        `json:"labels"`
	Threshold float64         `json:"threshold"`
	FlatNER   bool            `json:"flat_ner"`
	Micro     jsonScore       `json:"micro"`
	PerLabel  []jsonScore     `json:"per_label"`
	Relations *jsonRelationEv `json:"relations,omitempty"`
}

// jsonRelationEv are a relation-extraction model's relation scores.
type jsonRelationEv struct {
	Types     []string    `json:"types"`
	Threshold float64     `json:"threshold"`
	Micro     jsonScore   `json:"micro"`
	PerType   []jsonScore `json:"per_type"`
}

// writeEvaluationJSON writes evaluate --json's object (one line).
func writeEvaluationJSON(w io.Writer, dataPath string, labels []string, m *decode.Metrics, rm *decode.RelationMetrics, pf predictFlags, exs []data.Example) error {
	ev := jsonEvaluation{Data: dataPath, Documents: m.Docs(), Labels: labels, Threshold: pf.threshold, FlatNER: pf.flatNER,
		Micro: toJSONScores([]decode.Score{m.Micro()})[0], PerLabel: toJSONScores(m.PerLabel())}
	if rm != nil {
		rels, thr := evaluatedRelations(pf, exs)
		ev.Relations = &jsonRelationEv{Types: rels, Threshold: thr, Micro: toJSONScores([]decode.Score{rm.Micro()})[0], PerType: toJSONScores(rm.PerLabel())}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("evaluate --json: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
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
