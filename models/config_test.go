package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

func TestFixtureConfigsChooseTheReferenceArchitecture(t *testing.T) {
	want := map[string]Architecture{
		"uni_span_bert": UniEncoderSpan, "uni_span_deberta": UniEncoderSpan,
		"uni_token_bert": UniEncoderToken, "uni_token_deberta": UniEncoderToken,
		"bi_span_deberta": BiEncoderSpan, "bi_token_deberta": BiEncoderToken,
		"uni_span_relex_deberta": UniEncoderSpanRelex, "uni_span_decoder_deberta": UniEncoderSpanDecoder,
		"uni_token_decoder_deberta": UniEncoderTokenDecoder, "uni_token_relex_deberta": UniEncoderTokenRelex,
	}
	for _, f := range append([]string{"uni_token_decoder_deberta", "uni_token_relex_deberta"}, testutil.ModelFixtures...) {
		c, err := LoadConfig(filepath.Join(testutil.Fixture(t, f), "gliner_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.Architecture()
		if err != nil {
			t.Fatal(err)
		}
		if a != want[f] {
			t.Errorf("%s: architecture %v, want %v", f, a, want[f])
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]string{
		`{"max_width": 4, "surprise": 1}`: "unknown field \"surprise\"",
		`{"span_mode": "markerV9"}`:       "valid: markerV0, token_level",
		`{"max_width": "four"}`:           "max_width",
		`{"max_width": 0}`:                "must be positive",
	}
	for in, want := range cases {
		_, err := ParseConfig([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", in, err, want)
		}
	}
	if _, err := ParseArchitecture("gliner_nope"); err == nil || !strings.Contains(err.Error(), "gliner_uni_encoder_span") {
		t.Errorf("ParseArchitecture error should list valid values, got %v", err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
