package checkpoints

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// FuzzSafetensors parses arbitrary bytes as a safetensors file and reads
// every tensor it accepts; it must never panic, and whatever it accepts must
// read back without error in the tensor's own kind.
func FuzzSafetensors(f *testing.F) {
	// Seeds: small files re-encoded from a fixture's smallest tensors (large
	// seeds make the fuzzer's minimisation crawl).
	st, err := ReadState(filepath.Join(testutil.Fixture(f, "uni_span_bert"), "model.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	var small []Tensor
	for _, n := range st.Names {
		if t := st.Tensors[n]; len(t.Data) <= 64 && len(small) < 4 {
			small = append(small, Tensor{Name: n, Shape: t.Shape, Data: t.Data})
		}
	}
	for _, dt := range []DType{F32, F16, BF16} {
		var buf bytes.Buffer
		if err := EncodeSafetensors(&buf, dt, small, nil); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(stBytes(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BOOL","shape":[1,1],"data_offsets":[4,5]},"__metadata__":{"k":"v"}}`, 5))
	f.Add(stBytes(`{"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"z":{"dtype":"BF16","shape":[0],"data_offsets":[8,8]}}`, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := ParseSafetensors("fuzz.safetensors", b)
		if err != nil {
			return
		}
		for _, n := range sf.Names() {
			info, ok := sf.Info(n)
			if !ok {
				t.Fatalf("Names lists %q but Info lacks it", n)
			}
			if info.DType.IsFloat() {
				if _, err := sf.Float32(n); err != nil {
					t.Fatalf("accepted file, tensor %q unreadable: %v", n, err)
				}
			} else {
				_, _ = sf.Int64(n) // bool bytes may be invalid
			}
		}
	})
}

// FuzzPickle runs arbitrary bytes through the pickle machine (with storages
// backed by zeros), the legacy reader and the zip reader; none may panic.
func FuzzPickle(f *testing.F) {
	for _, fx := range []string{"uni_span_bert", "bi_token_deberta"} {
		b, err := os.ReadFile(filepath.Join(testutil.Fixture(f, fx), "pytorch_model.bin"))
		if err != nil {
			f.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) == "data.pkl" {
				rc, _ := zf.Open()
				pkl, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(pkl)
			}
		}
	}
	for _, name := range []string{"torch_zip.pt", "torch_legacy.pt", "torch_evil.pt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		storages := map[string]*storageRef{}
		obj, _, err := unpickle(b, func(pid any) (any, error) {
			st, err := storageFromPID(pid, 5, storages)
			if err != nil {
				return nil, err
			}
			if st.data == nil {
				if st.numel > 1<<16 {
					return nil, os.ErrInvalid
				}
				st.data = make([]byte, st.numel*int64(st.dtype.Size()))
			}
			return st, nil
		})
		if err == nil {
			_, _ = stateFromObject(obj, 1<<16) // small budget: keep executions fast
		}
		_, _ = ParsePyTorch("fuzz.bin", b)
	})
}
