package selftrain

import (
	"math"
	"reflect"
	"testing"
)

func handRules() Rules {
	return Rules{Labels: []string{"person", "place"}, Mode: ModeThreshold, Threshold: 0.6,
		Thresholds: map[string]float64{"place": 0.8}, Low: 0.3, MaskUncertain: true}
}

var handPrimary = []Prediction{
	{Start: 6, End: 6, Label: "place", Score: 0.85},  // confident (place needs 0.8)
	{Start: 0, End: 0, Label: "person", Score: 0.9},  // confident
	{Start: 2, End: 3, Label: "person", Score: 0.5},  // uncertain: [0.3, 0.6)
	{Start: 5, End: 5, Label: "place", Score: 0.7},   // uncertain: [0.3, 0.8)
	{Start: 8, End: 8, Label: "person", Score: 0.29}, // below low: a negative
}

func TestDecideThresholds(t *testing.T) {
	r := handRules()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	conf, unc := r.Decide(handPrimary, nil, nil, false)
	wantConf := []Prediction{{0, 0, "person", 0.9}, {6, 6, "place", 0.85}}
	wantUnc := []Prediction{{2, 3, "person", 0.5}, {5, 5, "place", 0.7}}
	if !reflect.DeepEqual(conf, wantConf) || !reflect.DeepEqual(unc, wantUnc) {
		t.Fatalf("confident %v uncertain %v, want %v %v", conf, unc, wantConf, wantUnc)
	}
	// Exactly at the threshold is confident; exactly at low is uncertain.
	conf, unc = r.Decide([]Prediction{{0, 0, "person", 0.6}, {1, 1, "person", 0.3}}, nil, nil, false)
	if len(conf) != 1 || conf[0].Start != 0 || len(unc) != 1 || unc[0].Start != 1 {
		t.Fatalf("boundaries: confident %v uncertain %v", conf, unc)
	}
}

func TestDecideSecondTeacher(t *testing.T) {
	r := handRules()
	second := []Prediction{
		{Start: 0, End: 0, Label: "person", Score: 0.95}, // agrees
		{Start: 6, End: 6, Label: "place", Score: 0.5},   // unsure: D becomes uncertain
		{Start: 9, End: 9, Label: "person", Score: 0.9},  // only the second is sure: uncertain
		{Start: 10, End: 10, Label: "person", Score: 0.4},
	}
	conf, unc := r.Decide(handPrimary, second, nil, true)
	wantConf := []Prediction{{0, 0, "person", 0.9}}
	wantUnc := []Prediction{{2, 3, "person", 0.5}, {5, 5, "place", 0.7}, {6, 6, "place", 0.85}, {9, 9, "person", 0.9}}
	if !reflect.DeepEqual(conf, wantConf) || !reflect.DeepEqual(unc, wantUnc) {
		t.Fatalf("confident %v uncertain %v, want %v %v", conf, unc, wantConf, wantUnc)
	}
	// A lower agree threshold lets D through.
	r.AgreeThreshold = 0.45
	conf, _ = r.Decide(handPrimary, second, nil, true)
	if len(conf) != 2 || conf[1].Label != "place" {
		t.Fatalf("agree threshold 0.45: confident %v", conf)
	}
}

func TestTopFractionAndAgree(t *testing.T) {
	cut := TopFractionCutoffs(map[string][]float64{"person": {0.9, 0.5, 0.7, 0.4}}, []string{"person", "place"}, 0.5)
	if cut["person"] != 0.7 || !math.IsInf(cut["place"], 1) {
		t.Fatalf("cutoffs %v, want person 0.7 (2nd of 4), place +Inf", cut)
	}
	if c := TopFractionCutoffs(map[string][]float64{"person": {0.9, 0.5, 0.7, 0.4}}, []string{"person"}, 0.3); c["person"] != 0.7 {
		t.Fatalf("ceil(0.3·4) = 2 → cutoff 0.7, got %v", c)
	}
	preds := []Prediction{{0, 0, "person", 0.9}, {1, 1, "person", 0.65}, {2, 2, "person", 0.5}, {3, 3, "person", 0.7}}
	r := handRules()
	r.Mode, r.TopFraction = ModeTopFraction, 0.5
	conf, unc := r.Decide(preds, nil, cut, false)
	if len(conf) != 2 || conf[0].Start != 0 || conf[1].Start != 3 || len(unc) != 2 {
		t.Fatalf("top_fraction: confident %v uncertain %v", conf, unc)
	}
	// agree: threshold 0.6 and cutoff 0.7 must both keep it; 0.65 passes
	// only the threshold, so it is uncertain.
	r.Mode, r.Threshold = ModeAgree, 0.6
	conf, unc = r.Decide(preds, nil, cut, false)
	wantUnc := []Prediction{{1, 1, "person", 0.65}, {2, 2, "person", 0.5}}
	if len(conf) != 2 || !reflect.DeepEqual(unc, wantUnc) {
		t.Fatalf("agree: confident %v uncertain %v", conf, unc)
	}
	r.Threshold = 0.8 // now 0.7 passes the top fraction only
	conf, _ = r.Decide(preds, nil, cut, false)
	if len(conf) != 1 || conf[0].Score != 0.9 {
		t.Fatalf("agree with threshold 0.8: confident %v", conf)
	}
}

func TestRulesValidate(t *testing.T) {
	for name, mod := range map[string]func(*Rules){
		"no labels":      func(r *Rules) { r.Labels = nil },
		"repeated label": func(r *Rules) { r.Labels = []string{"a", "a"} },
		"unknown label":  func(r *Rules) { r.Thresholds = map[string]float64{"x": 0.5} },
		"low zero":       func(r *Rules) { r.Low = 0 },
		"threshold<low":  func(r *Rules) { r.Threshold = 0.2 },
		"no fraction":    func(r *Rules) { r.Mode = ModeTopFraction },
		"min count < 0":  func(r *Rules) { r.MinCount = -1 },
	} {
		r := handRules()
		mod(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseRuleMode("majority"); err == nil {
		t.Error("unknown rule mode accepted")
	}
}
