package checkpoints

import (
	"path/filepath"
	"testing"
)

// benchFile writes a ~100 MB F32 safetensors file of 25 tensors.
func benchFile(b *testing.B) (string, []Tensor) {
	b.Helper()
	var ts []Tensor
	for i := 0; i < 25; i++ {
		d := make([]float32, 1<<20)
		for j := range d {
			d[j] = float32(i*j%977) * 0.001
		}
		ts = append(ts, Tensor{Name: "layer." + string(rune('a'+i)) + ".weight", Shape: []int{1024, 1024}, Data: d})
	}
	path := filepath.Join(b.TempDir(), "big.safetensors")
	if err := WriteSafetensors(path, ts, nil); err != nil {
		b.Fatal(err)
	}
	return path, ts
}

// BenchmarkReadSafetensors opens a 100 MB file and converts every tensor
// into preallocated destinations (MB/s over the tensor bytes).
func BenchmarkReadSafetensors(b *testing.B) {
	path, ts := benchFile(b)
	dst := make([][]float32, len(ts))
	for i := range dst {
		dst[i] = make([]float32, len(ts[i].Data))
	}
	b.SetBytes(int64(len(ts)) * 4 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := OpenSafetensors(path)
		if err != nil {
			b.Fatal(err)
		}
		for k, t := range ts {
			if err := f.ReadFloat32(t.Name, dst[k]); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	b.StopTimer()
	if dst[3][977+5] != ts[3].Data[977+5] {
		b.Fatal("wrong value read")
	}
}

// BenchmarkWriteSafetensors writes the same 100 MB atomically (with fsync).
func BenchmarkWriteSafetensors(b *testing.B) {
	path, ts := benchFile(b)
	b.SetBytes(int64(len(ts)) * 4 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteSafetensors(path, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}
