package data

import (
	"reflect"
	"testing"
)

func TestShapeBucketsRound(t *testing.T) {
	cases := []struct{ t, w, c, wt, ww, wc int }{
		{19, 8, 4, 32, 8, 4},
		{16, 9, 5, 16, 16, 8},
		{513, 600, 101, 1024, 1024, 200},
		{0, 0, 0, 16, 8, 4},
	}
	for _, c := range cases {
		gt, gw, gc, err := DefaultShapeBuckets.Round(c.t, c.w, c.c)
		if err != nil || gt != c.wt || gw != c.ww || gc != c.wc {
			t.Errorf("Round(%d,%d,%d) = (%d,%d,%d,%v), want (%d,%d,%d)", c.t, c.w, c.c, gt, gw, gc, err, c.wt, c.ww, c.wc)
		}
	}
	if _, _, _, err := (ShapeBuckets{T: []int{8, 8}}).Round(3, 1, 1); err == nil {
		t.Errorf("non-ascending buckets accepted")
	}
}

// TestPadToKeepsValidAndMasksNew pads fixture batches of every layout and
// checks that the original tensors reappear as the leading block and every
// new position is masked.
func TestPadToKeepsValidAndMasksNew(t *testing.T) {
	for _, name := range []string{"uni_span_bert", "uni_token_bert", "bi_span_deberta"} {
		c, fb := fixtureCollator(t, name, 1)
		orig, err := c.Collate(fb.examples(t), CollateOptions{Labels: [][]string{fb.EntityTypes}, Targets: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Collate(fb.examples(t), CollateOptions{Labels: [][]string{fb.EntityTypes}, Targets: true})
		if err != nil {
			t.Fatal(err)
		}
		bs, t0, w0, c0, k := orig.B(), orig.T(), orig.W(), orig.C(), orig.MaxWidth
		if err := b.PadTo(t0-1, w0, c0, 0); err == nil {
			t.Fatalf("%s: PadTo smaller T accepted", name)
		}
		const pad = 0
		if err := DefaultShapeBuckets.Pad(b, pad); err != nil {
			t.Fatal(err)
		}
		T, W, C := b.T(), b.W(), b.C()
		if T <= t0 || C != 4 || W != 8 {
			t.Fatalf("%s: padded to (%d,%d,%d) from (%d,%d,%d)", name, T, W, C, t0, w0, c0)
		}
		if err := b.PadTo(T, W+3, C+2, pad); err != nil {
			t.Fatal(err)
		}
		T, W, C = b.T(), b.W(), b.C()
		for i := range bs {
			for j := range T {
				in := j < t0
				if got := b.InputIDs.Data[i*T+j]; in && got != orig.InputIDs.Data[i*t0+j] || !in && got != pad {
					t.Fatalf("%s: input_ids[%d,%d] = %d", name, i, j, got)
				}
				if got := b.AttentionMask.Data[i*T+j]; in && got != orig.AttentionMask.Data[i*t0+j] || !in && got != 0 {
					t.Fatalf("%s: attention_mask[%d,%d] = %d", name, i, j, got)
				}
				if got := b.WordsMask.Data[i*T+j]; in && got != orig.WordsMask.Data[i*t0+j] || !in && got != 0 {
					t.Fatalf("%s: words_mask[%d,%d] = %d", name, i, j, got)
				}
			}
			if b.SpanIdx.Shape != nil {
				for s := range W * k {
					in := s < w0*k
					gm := b.SpanMask.Data[i*W*k+s]
					gs, ge := b.SpanIdx.Data[(i*W*k+s)*2], b.SpanIdx.Data[(i*W*k+s)*2+1]
					if in && (gm != orig.SpanMask.Data[i*w0*k+s] || gs != orig.SpanIdx.Data[(i*w0*k+s)*2] || ge != orig.SpanIdx.Data[(i*w0*k+s)*2+1]) ||
						!in && (gm || gs != 0 || ge != 0) {
						t.Fatalf("%s: span %d of example %d: (%d,%d) mask %v", name, s, i, gs, ge, gm)
					}
					for cl := range C {
						want := float32(0)
						if in && cl < c0 {
							want = orig.Labels.Data[(i*w0*k+s)*c0+cl]
						}
						if got := b.Labels.Data[(i*W*k+s)*C+cl]; got != want {
							t.Fatalf("%s: labels[%d,%d,%d] = %v, want %v", name, i, s, cl, got, want)
						}
					}
				}
			} else {
				for w := range W {
					for cl := range C {
						for x := range 3 {
							want := float32(0)
							if w < w0 && cl < c0 {
								want = orig.Labels.Data[((i*w0+w)*c0+cl)*3+x]
							}
							if got := b.Labels.Data[((i*W+w)*C+cl)*3+x]; got != want {
								t.Fatalf("%s: labels[%d,%d,%d,%d] = %v, want %v", name, i, w, cl, x, got, want)
							}
						}
					}
				}
			}
		}
		if !reflect.DeepEqual(b.TextLengths.Data, orig.TextLengths.Data) {
			t.Fatalf("%s: text_lengths changed", name)
		}
		if b.LabelsInputIDs.Shape != nil {
			tl := orig.LabelsInputIDs.Shape[1]
			if !reflect.DeepEqual(b.LabelsInputIDs.Shape, []int{C, tl}) ||
				!reflect.DeepEqual(b.LabelsInputIDs.Data[:c0*tl], orig.LabelsInputIDs.Data) {
				t.Fatalf("%s: labels_input_ids %v", name, b.LabelsInputIDs.Shape)
			}
			for _, m := range b.LabelsAttentionMask.Data[c0*tl:] {
				if m != 0 {
					t.Fatalf("%s: padded label rows not masked", name)
				}
			}
		}
	}
}
