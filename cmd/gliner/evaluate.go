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
