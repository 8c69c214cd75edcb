package train_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/train"
)

// adamw64 is torch.optim.AdamW written out in float64 for one parameter.
type adamw64 struct {
	p, m, v []float64
	step    int
}

func (a *adamw64) update(g []float64, lr, wd float64) {
	a.step++
	for i := range a.p {
		a.p[i] *= 1 - lr*wd
		a.m[i] = 0.9*a.m[i] + 0.1*g[i]
		a.v[i] = 0.999*a.v[i] + 0.001*g[i]*g[i]
		mh := a.m[i] / (1 - math.Pow(0.9, float64(a.step)))
		vh := a.v[i] / (1 - math.Pow(0.999, float64(a.step)))
		a.p[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
	}
}

func TestAdamWMatchesFloat64Reference(t *testing.T) {
	store := autograd.NewStore()
	w, _ := store.Add("token_rep_layer.w", []int{2, 2}, nil)
	b, _ := store.Add("head.bias", []int{3}, nil)
	copy(w.Data, []float32{0.5, -1.25, 2, 0.001})
	copy(b.Data, []float32{-0.3, 0.7, 0})
	groups := []*train.Group{
		{Name: "decay", BaseLR: 0.05, LR: 0.05, WeightDecay: 0.1, Params: []*autograd.Param{w}},
		{Name: "no_decay", BaseLR: 0.02, LR: 0.02, Params: []*autograd.Param{b}},
	}
	opt, err := train.NewAdamW(groups, train.AdamWOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[*autograd.Param]*adamw64{}
	for _, p := range []*autograd.Param{w, b} {
		r := &adamw64{p: make([]float64, len(p.Data)), m: make([]float64, len(p.Data)), v: make([]float64, len(p.Data))}
		for i, x := range p.Data {
			r.p[i] = float64(x)
		}
		ref[p] = r
	}
	grads := [][]float32{
		{0.1, -0.2, 3, 1e-4, 0.5, -0.5, 2},
		{-0.3, 0.1, 2.5, 0, 0.4, 1e-3, -1},
		{0.2, 0.2, -1, 5e-5, 0, 0, 0}, // b gets no gradient this step
		{1, -2, 0.5, 1e-4, 0.3, 0.3, 0.3},
		{0.05, 0.01, -0.2, -1e-4, -0.1, 0.2, 0.05},
	}
	lrScale := []float64{1, 0.9, 0.7, 0.4, 0.1}
	for s, g := range grads {
		copy(w.Grad, g[:4])
		copy(b.Grad, g[4:])
		for _, gr := range groups {
			gr.LR = gr.BaseLR * lrScale[s]
		}
		bHas := s != 2
		opt.Step(func(p *autograd.Param) bool { return p != b || bHas })
		for i, gr := range groups {
			p := gr.Params[0]
			if p == b && !bHas {
				continue
			}
			g64 := make([]float64, len(p.Grad))
			for k, x := range p.Grad {
				g64[k] = float64(x)
			}
			ref[p].update(g64, groups[i].LR, groups[i].WeightDecay)
		}
		for _, p := range []*autograd.Param{w, b} {
			r, st := ref[p], opt.State(p)
			if int(st.Step) != r.step {
				t.Fatalf("step %d: %s has %d optimizer steps, want %d", s+1, p.Name, st.Step, r.step)
			}
			for k := range p.Data {
				for _, c := range []struct {
					what      string
					got, want float64
				}{{"param", float64(p.Data[k]), r.p[k]}, {"exp_avg", float64(st.ExpAvg[k]), r.m[k]}, {"exp_avg_sq", float64(st.ExpAvgSq[k]), r.v[k]}} {
					if math.Abs(c.got-c.want) > 2e-6*math.Max(math.Abs(c.want), 1e-3) {
						t.Errorf("step %d %s[%d] %s = %.9g, float64 reference %.9g", s+1, p.Name, k, c.what, c.got, c.want)
					}
				}
			}
		}
	}
	// The first step moves every element by about lr (Adam's normalised
	// step), here checked on a value: 0.5·(1−0.05·0.1) − 0.05 = 0.44475.
	if got := ref[w].step; got != 5 {
		t.Fatalf("w took %d steps", got)
	}
	if ref[b].step != 4 {
		t.Fatalf("b took %d steps, want 4 (skipped once)", ref[b].step)
	}
}

func TestAdamWFirstStepValue(t *testing.T) {
	store := autograd.NewStore()
	p, _ := store.Add("x", []int{1}, nil)
	p.Data[0], p.Grad[0] = 0.5, 0.1
	opt, err := train.NewAdamW([]*train.Group{{Name: "g", BaseLR: 0.05, LR: 0.05, WeightDecay: 0.1, Params: []*autograd.Param{p}}}, train.AdamWOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opt.Step(nil)
	// m̂ = g, v̂ = g², step = lr·g/(|g|+1e-8): 0.5·(1−0.005) − 0.05·0.1/(0.1+1e-8).
	want := 0.5*(1-0.005) - 0.05*0.1/(0.1+1e-8)
	if math.Abs(float64(p.Data[0])-want) > 1e-7 {
		t.Fatalf("after one step %.9g, want %.9g", p.Data[0], want)
	}
}

func TestAdamWRejectsFrozenAndDuplicates(t *testing.T) {
	store := autograd.NewStore()
	p, _ := store.Add("a", []int{1}, nil)
	q, _ := store.Add("b", []int{1}, nil)
	q.Frozen = true
	if _, err := train.NewAdamW([]*train.Group{{Name: "g", Params: []*autograd.Param{p, p}}}, train.AdamWOptions{}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("duplicate parameter: err = %v", err)
	}
	if _, err := train.NewAdamW([]*train.Group{{Name: "g", Params: []*autograd.Param{q}}}, train.AdamWOptions{}); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("frozen parameter: err = %v", err)
	}
}

func names(ps []*autograd.Param) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func f64(x float64) *float64 { return &x }

func TestParamGroups(t *testing.T) {
	store := autograd.NewStore()
	for _, n := range []string{
		"token_rep_layer.bert_layer.model.embeddings.word_embeddings.weight",
		"token_rep_layer.bert_layer.model.embeddings.LayerNorm.weight",
		"token_rep_layer.bert_layer.model.embeddings.LayerNorm.bias",
		"token_rep_layer.projection.0.bias",
		"token_rep_layer.projection.0.weight",
		"rnn.lstm.weight_ih_l0",
		"rnn.lstm.bias_ih_l0",
		"span_rep_layer.span_rep_layer.project_start.0.weight",
		"decoder.decoder_layer.model.h.0.ln_1.weight",
		"cross_fuser.layers.0.0.pre_norm.weight",
		"frozen.weight",
	} {
		if _, err := store.Add(n, []int{1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.SetFrozen("frozen", true); err != nil {
		t.Fatal(err)
	}
	gs, err := train.ParamGroups(store, train.GroupConfig{LR: 1e-5, WeightDecay: 0.1, OthersLR: f64(3e-5), OthersWeightDecay: f64(0.01)})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		lr, wd float64
		params []string
	}{
		{"others_decay", 3e-5, 0.01, []string{"rnn.lstm.weight_ih_l0", "span_rep_layer.span_rep_layer.project_start.0.weight"}},
		{"others_no_decay", 3e-5, 0, []string{"rnn.lstm.bias_ih_l0", "decoder.decoder_layer.model.h.0.ln_1.weight", "cross_fuser.layers.0.0.pre_norm.weight"}},
		{"encoder_decay", 1e-5, 0.1, []string{"token_rep_layer.bert_layer.model.embeddings.word_embeddings.weight", "token_rep_layer.projection.0.weight"}},
		{"encoder_no_decay", 1e-5, 0, []string{"token_rep_layer.bert_layer.model.embeddings.LayerNorm.weight", "token_rep_layer.bert_layer.model.embeddings.LayerNorm.bias", "token_rep_layer.projection.0.bias"}},
	}
	if len(gs) != len(want) {
		t.Fatalf("%d groups, want %d", len(gs), len(want))
	}
	for i, w := range want {
		g := gs[i]
		if g.Name != w.name || g.LR != w.lr || g.BaseLR != w.lr || g.WeightDecay != w.wd || !slices.Equal(names(g.Params), w.params) {
			t.Errorf("group %d = %s lr %g wd %g %v, want %+v", i, g.Name, g.LR, g.WeightDecay, names(g.Params), w)
		}
	}

	// others_lr = 0 explicitly: 0 by default, the encoder's under the
	// reference's `or` fallback (gliner/model.py create_training_args).
	gs, _ = train.ParamGroups(store, train.GroupConfig{LR: 1e-5, WeightDecay: 0.1, OthersLR: f64(0), OthersWeightDecay: f64(0)})
	if gs[0].LR != 0 || gs[0].WeightDecay != 0 {
		t.Errorf("explicit zeros: others lr %g wd %g, want 0 0", gs[0].LR, gs[0].WeightDecay)
	}
	gs, _ = train.ParamGroups(store, train.GroupConfig{LR: 1e-5, WeightDecay: 0.1, OthersLR: f64(0), OthersWeightDecay: f64(0), OrFallback: true})
	if gs[0].LR != 1e-5 || gs[0].WeightDecay != 0.1 || gs[1].WeightDecay != 0 {
		t.Errorf("or fallback: others lr %g wd %g (no-decay %g), want 1e-5 0.1 0", gs[0].LR, gs[0].WeightDecay, gs[1].WeightDecay)
	}
	// No others_lr: the standard two groups.
	gs, _ = train.ParamGroups(store, train.GroupConfig{LR: 5e-5, WeightDecay: 0.01})
	if len(gs) != 2 || gs[0].Name != "decay" || len(gs[0].Params) != 4 || len(gs[1].Params) != 6 || gs[1].WeightDecay != 0 {
		t.Errorf("no others lr: %d groups %v", len(gs), gs)
	}
}
