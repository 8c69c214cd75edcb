package checkpoints

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

type torchExpected struct {
	Shape []int    `json:"shape"`
	Bits  []uint32 `json:"f32_bits"`
	Ints  []int64  `json:"ints"`
}

// TestReadPyTorchGenerated checks the zip and legacy readers on files made by
// testdata/gen_torch.py: storage offsets, transposed and broadcast strides,
// shared storages, parameters, F16/BF16/F64/I64/BOOL storages.
func TestReadPyTorchGenerated(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]torchExpected
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != 11 {
		t.Fatalf("expected file lists %d tensors, want 11", len(want))
	}
	for _, file := range []string{"testdata/torch_zip.pt", "testdata/torch_legacy.pt"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			st, err := ReadState(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Names) != len(want) {
				t.Fatalf("%d tensors %v, want %d", len(st.Names), st.Names, len(want))
			}
			for name, w := range want {
				got, ok := st.Tensors[name]
				if !ok {
					t.Fatalf("tensor %q missing", name)
				}
				if !slices.Equal(got.Shape, w.Shape) {
					t.Fatalf("%s: shape %v, want %v", name, got.Shape, w.Shape)
				}
				if w.Ints != nil {
					if len(got.Ints) != len(w.Ints) || got.Data != nil {
						t.Fatalf("%s: ints %v, want %v", name, got.Ints, w.Ints)
					}
					for i := range w.Ints {
						if got.Ints[i] != w.Ints[i] {
							t.Fatalf("%s[%d] = %d, want %d", name, i, got.Ints[i], w.Ints[i])
						}
					}
					continue
				}
				if len(got.Data) != len(w.Bits) {
					t.Fatalf("%s: %d values, want %d", name, len(got.Data), len(w.Bits))
				}
				for i := range w.Bits {
					if math.Float32bits(got.Data[i]) != w.Bits[i] {
						t.Fatalf("%s[%d] = %v (bits %#x), want bits %#x", name, i, got.Data[i], math.Float32bits(got.Data[i]), w.Bits[i])
					}
				}
			}
			if st.Tensors["half"].DType != F16 || st.Tensors["bf16"].DType != BF16 || st.Tensors["double"].DType != F64 {
				t.Fatalf("source dtypes not reported: %s %s %s", st.Tensors["half"].DType, st.Tensors["bf16"].DType, st.Tensors["double"].DType)
			}
		})
	}
}

func TestReadPyTorchRefusesCode(t *testing.T) {
	_, err := ReadPyTorch("testdata/torch_evil.pt")
	if err == nil {
		t.Fatal("a pickle calling os.system was accepted")
	}
	for _, s := range []string{"torch_evil.pt", "global", "system", "not allowed"} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not mention %q", err, s)
		}
	}
}

// pickleOf assembles a protocol-2 pickle from opcodes and arguments.
func pickleOf(parts ...string) []byte { return []byte("\x80\x02" + strings.Join(parts, "") + ".") }

func TestPickleErrors(t *testing.T) {
	store := "X\x07\x00\x00\x00storage" + "ctorch\nFloatStorage\n" + "X\x01\x00\x00\x000" + "X\x03\x00\x00\x00cpu" + "K\x04" // numel 4
	pid := "(" + store + "tQ"
	tensor := func(off, size, stride string) string {
		return "ctorch._utils\n_rebuild_tensor_v2\n(" + pid + off + size + stride + "\x89}tR"
	}
	cases := []struct {
		name, pkl, want string
	}{
		{"global", "}X\x01\x00\x00\x00acbuiltins\neval\ns", "global builtins.eval is not allowed"},
		{"stack global", "}X\x01\x00\x00\x00aX\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93s", "global os.system is not allowed"},
		{"truncated string", "X\xff\x00\x00\x00abc", "truncated"},
		{"no stop", "", "no STOP"},
		{"underflow", "s", "stack underflow"},
		{"bad memo", "h\x05", "memo index 5 was never stored"},
		{"unknown opcode", "\xff", "unsupported opcode"},
		{"not a dict", "]", "top-level object is list"},
		{"not a tensor", "}X\x01\x00\x00\x00aK\x01s", `entry "a" is int, not a tensor`},
		{"past storage", "}X\x01\x00\x00\x00a" + tensor("K\x01", "K\x04\x85", "K\x01\x85") + "s", "reaches element 4 of a storage of 4"},
		{"negative stride", "}X\x01\x00\x00\x00a" + tensor("K\x00", "K\x02\x85", "J\xff\xff\xff\xff\x85") + "s", "stride"},
		{"rank mismatch", "}X\x01\x00\x00\x00a" + tensor("K\x00", "K\x02\x85", ")") + "s", "differ in rank"},
		{"huge long", "}X\x01\x00\x00\x00a\x8a\x0a" + strings.Repeat("\x7f", 10) + "s", "does not fit in 64 bits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := pickleOf(c.pkl)
			if c.name == "no stop" {
				b = b[:len(b)-1]
			}
			_, err := ParsePyTorch("bad.pt", zipOf(t, b, map[string][]byte{"archive/data/0": make([]byte, 16)}))
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), "bad.pt") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name the file and %q", err, c.want)
			}
		})
	}
}

func TestPyTorchContainerErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/torch_zip.pt")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile("testdata/torch_legacy.pt")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "neither a zip archive nor a legacy"},
		{"truncated zip", good[:len(good)/2], "zip"},
		{"no data.pkl", zipOf(t, nil, map[string][]byte{"archive/x": {1}}), "no <archive>/data.pkl"},
		{"missing storage", zipOf(t, pickleOf("}X\x01\x00\x00\x00a"+"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x007X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89}tRs"), nil), `record archive/data/7 missing`},
		{"short storage", zipOf(t, pickleOf("}X\x01\x00\x00\x00a"+"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89}tRs"), map[string][]byte{"archive/data/0": make([]byte, 12)}), "holds 12 bytes"},
		{"legacy truncated", legacy[:len(legacy)-3], "bytes needed"},
		{"legacy trailing", append(append([]byte(nil), legacy...), 0), "unexpected bytes after the last storage"},
		{"legacy bad magic", append([]byte{0x80, 0x02, 0x4b, 0x01}, legacy[20:]...), "legacy magic number missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePyTorch("bad.bin", c.b)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "bad.bin") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name the file and %q", err, c.want)
			}
		})
	}
}

// data.pkl is capped absolutely (issue 12 C2): it was bounded only by
// 1032× its compressed size, so a 1.3 MB .bin made the reader allocate
// 1 GiB before refusing. A deflated record of 64 MiB + 1 zeros (about
// 65 KB in the file) is refused from its header, before it is inflated.
func TestPickleSizeCapped(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		w.Write(zeros)
	}
	w.Write([]byte{0})
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 1<<20 {
		t.Fatalf("the test file is %d bytes", buf.Len())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ParsePyTorch("big.bin", buf.Bytes())
	runtime.ReadMemStats(&after)
	want := "pytorch big.bin: record archive/data.pkl: 67108865 bytes is more than the limit (67108864 bytes)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
		t.Errorf("refusing allocated %d bytes", grown)
	}
}

func TestCheckFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	st := &State{Path: "w.safetensors", Names: []string{"a", "b", "c", "d", "e", "ids"}, Tensors: map[string]*StateTensor{
		"a":   {Shape: []int{3}, Data: []float32{1, 2, 3}},
		"b":   {Shape: []int{2, 2}, Data: []float32{1, nan, inf, nan}},
		"c":   {Shape: []int{1}, Data: []float32{inf}},
		"d":   {Shape: []int{1}, Data: []float32{nan}},
		"e":   {Shape: []int{1}, Data: []float32{nan}},
		"ids": {Shape: []int{1}, Ints: []int64{1}},
	}}
	if err := st.CheckFinite([]string{"a", "ids", "absent"}); err != nil {
		t.Errorf("finite tensors refused: %v", err)
	}
	want := `w.safetensors: tensor "b" [2 2] holds 2 NaN and 1 infinite values (the first at flat index 1, NaN); ` +
		`tensor "c" [1] holds 0 NaN and 1 infinite values (the first at flat index 0, -Inf); ` +
		`tensor "d" [1] holds 1 NaN and 0 infinite values (the first at flat index 0, NaN); and 1 more tensors: ` +
		`weights must be finite (a diverged training run or a corrupt file)`
	if err := st.CheckFinite(nil); err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}
