package bench

import "testing"

// The benchmark's model and batch are the reference script's: the same
// sequence length, the same tensor shapes and the same parameter count as
// bench_reference.py prints (input_ids (8, 181), span_idx (8, 1200, 2),
// labels (8, 1200, 25), n_params 8099584, <<ENT>> id 8001).
func TestBenchSetupMatchesReferenceScript(t *testing.T) {
	b, m := benchBatchAndModel(t)
	check := func(name string, got []int, want ...int) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s shape %v, want %v", name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s shape %v, want %v", name, got, want)
			}
		}
	}
	check("input_ids", b.InputIDs.Shape, 8, 181)
	check("span_idx", b.SpanIdx.Shape, 8, 1200, 2)
	check("labels", b.Labels.Shape, 8, 1200, 25)
	n := 0
	for _, p := range m.Store.Params() {
		n += len(p.Data)
	}
	if n != 8099584 {
		t.Errorf("%d parameters, the reference script's model has 8099584", n)
	}
	if m.Cfg.ClassTokenIndex != 8001 {
		t.Errorf("class_token_index %d, the reference's is 8001", m.Cfg.ClassTokenIndex)
	}
	pos := 0
	for _, v := range b.Labels.Data {
		if v == 1 {
			pos++
		}
	}
	if pos != 8*10 {
		t.Errorf("%d positive span labels, want 80 (10 gold entities per text)", pos)
	}
}
