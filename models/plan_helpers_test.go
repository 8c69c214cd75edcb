package models

import (
	"testing"

	"github.com/gliner-go/gliner/data"
)

// stepDecoderPlan is the decoder layout a training Step of m on b binds:
// the plan is made per call (Model.shapeOf) from the batch and the loss
// settings, never kept on the model, so the tests make it again the same
// way.
func stepDecoderPlan(t *testing.T, m *Model, b *data.Batch) *decoderPlan {
	t.Helper()
	_, p, err := m.shapeOf(b, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.dec == nil {
		t.Fatalf("%v: a training batch got no decoder plan", m.Arch)
	}
	return p.dec
}
