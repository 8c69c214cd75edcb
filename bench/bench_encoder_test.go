package bench

import (
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/models/encoder"
)

// BenchmarkUniEncoderSpanEncoderPart times the encoder alone (forward and
// backward, training mode, dropout 0.1) on BenchmarkUniEncoderSpanTrainStep's
// input_ids and attention mask, so the step's time splits into encoder and
// GLiNER head (word pooling, BiLSTM, markerV0 spans, prompt MLP, scorer,
// loss).
func BenchmarkUniEncoderSpanEncoderPart(b *testing.B) {
	batch, m := benchBatchAndModel(b)
	B, T := batch.InputIDs.Shape[0], batch.InputIDs.Shape[1]
	_, mach := encoderLossMachine(b, smallBench.encoderConfig(m.EncCfg.VocabSize), B, T)
	if err := mach.SetInts("ids", batch.InputIDs.Data, B, T); err != nil {
		b.Fatal(err)
	}
	if err := mach.SetInts("mask", batch.AttentionMask.Data, B, T); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := mach.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// encoderLossMachine compiles forward and backward (training mode) of the
// DeBERTa-v2 encoder of config JSON cfgJSON on sum(out·w), w a fixed ramp,
// for the int inputs "ids" and "mask" of shape (B, T); it returns the
// parameter store with the machine.
func encoderLossMachine(b *testing.B, cfgJSON string, B, T int) (*autograd.Store, *autograd.Machine) {
	cfg, err := encoder.ParseConfig([]byte(cfgJSON))
	if err != nil {
		b.Fatal(err)
	}
	s := autograd.NewStore()
	enc, err := encoder.New(s, "enc", cfg)
	if err != nil {
		b.Fatal(err)
	}
	s.Initialize(1)
	g := autograd.NewGraph(s, true)
	out := enc.Forward(g, g.IntInput("ids", B, T), g.IntInput("mask", B, T))
	w := make([]float32, B*T*cfg.HiddenSize)
	for i := range w {
		w[i] = float32(i%7) * 0.01
	}
	mach, err := autograd.Compile(g, autograd.DotConst(out, w))
	if err != nil {
		b.Fatal(err)
	}
	return s, mach
}
