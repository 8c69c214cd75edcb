package checkpoints

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// stBytes builds a safetensors file from a header and n data bytes.
func stBytes(header string, n int) []byte {
	b := make([]byte, 8, 8+len(header)+n)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	for i := 0; i < n; i++ {
		b = append(b, byte(i))
	}
	return b
}

func TestSafetensorsMalformed(t *testing.T) {
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, 1<<62)
	cases := []struct {
		name string
		b    []byte
		want []string
	}{
		{"empty file", nil, []string{"too short for the 8-byte header length"}},
		{"header length past end", hugeLen, []string{"header length 4611686018427387904 runs past the end of the file (16 bytes)"}},
		{"truncated header", stBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4)[:30], []string{"runs past the end"}},
		{"invalid JSON", stBytes(`{"a":{"dtype":"F32",`, 0), []string{"invalid JSON header"}},
		{"not an object", stBytes(`[1,2]`, 0), []string{"want an object"}},
		{"trailing garbage", stBytes(`{}  x`, 0), []string{"unexpected bytes after the object"}},
		{"unknown dtype", stBytes(`{"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, 1), []string{`tensor "w"`, `unknown dtype "F8"`}},
		{"unknown field", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), []string{`tensor "w"`, "unknown field"}},
		{"missing field", stBytes(`{"w":{"dtype":"F32","shape":[1]}}`, 4), []string{`tensor "w"`, "needs dtype, shape and data_offsets"}},
		{"negative dim", stBytes(`{"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "invalid dimension -1"}},
		{"huge dims", stBytes(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "too many elements"}},
		{"fractional dim", stBytes(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "invalid header entry"}},
		{"offsets out of range", stBytes(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4), []string{`tensor "w"`, "out of range for 4 data bytes"}},
		{"offsets reversed", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, 4), []string{`tensor "w"`, "out of range"}},
		{"offsets count", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, 4), []string{`tensor "w"`, "has 1 values, want 2"}},
		{"size mismatch", stBytes(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, "hold 8 bytes, but F32 shape [3] needs 12"}},
		{"overlap", stBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), []string{`tensor "b"`, `overlap tensor "a"`}},
		{"gap", stBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, 12), []string{`tensor "b"`, "leave bytes 4..8 unused"}},
		{"trailing data", stBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), []string{"cover 4 data bytes but the file holds 8"}},
		{"duplicate", stBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "a" appears twice`}},
		{"bad metadata", stBytes(`{"__metadata__":{"format":1}}`, 0), []string{"__metadata__ must map strings to strings"}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, c.b, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := OpenSafetensors(path)
			if err == nil {
				f.Close()
				t.Fatal("accepted")
			}
			for _, w := range append([]string{path}, c.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
			if _, err := ReadState(path); err == nil {
				t.Fatal("ReadState accepted it")
			}
		})
	}
}

func TestSafetensorsReadErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	b := stBytes(`{"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"m":{"dtype":"BOOL","shape":[1],"data_offsets":[12,13]}}   `, 13)
	b[len(b)-1] = 2 // not a valid bool
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one naming %s and %q", err, path, want)
		}
	}
	check(f.ReadFloat32("f", make([]float32, 3)), `tensor "f": destination holds 3 values, shape [2] has 2`)
	_, err = f.Float32("i")
	check(err, `tensor "i": dtype I32 is not a floating-point type`)
	_, err = f.Int64("f")
	check(err, `tensor "f": dtype F32 is not an integer type`)
	_, err = f.Int64("m")
	check(err, `tensor "m": element 0: bool byte 2`)
	_, err = f.Float32("nope")
	check(err, `no tensor "nope"`)
	iv, err := f.Int64("i")
	if err != nil || len(iv) != 1 || iv[0] != int64(int32(binary.LittleEndian.Uint32([]byte{8, 9, 10, 11}))) {
		t.Fatalf("Int64(i) = %v, %v", iv, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = f.Float32("f")
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// TestHalfConversionsExhaustive checks every F16 and BF16 bit pattern: the
// float32 value is the exact value of the half (checked against an
// independent float64 formula), and converting back gives the same bits.
func TestHalfConversionsExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := F16ToFloat32(h)
		exp := int(h>>10) & 0x1f
		mant := float64(h & 0x3ff)
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(1)
		case exp == 0x1f:
			want = math.NaN()
		case exp == 0:
			want = mant * math.Pow(2, -24)
		default:
			want = (1 + mant/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if math.IsNaN(want) {
			if !math.IsNaN(float64(f)) || math.Float32bits(f)>>13&0x3ff != uint32(h&0x3ff) {
				t.Fatalf("F16 %#04x: %v, want NaN with its payload", h, f)
			}
		} else if float64(f) != want || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Fatalf("F16 %#04x: %v, want %v", h, f, want)
		}
		if back := Float32ToF16(f); back != h {
			t.Fatalf("F16 %#04x -> %v -> %#04x", h, f, back)
		}
		b := BF16ToFloat32(h)
		if !math.IsNaN(float64(b)) {
			if back := Float32ToBF16(b); back != h {
				t.Fatalf("BF16 %#04x -> %v -> %#04x", h, b, back)
			}
		}
	}
}

// TestFloat32ToHalfRounding checks round-to-nearest-even on values between
// two halves, overflow and underflow.
func TestFloat32ToHalfRounding(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},         // tie between 1 and next: even (1)
		{1 + 3.0/2048, 0x3c02},         // tie: rounds up to even
		{1 + 1.0/2048 + 1e-7, 0x3c01},  // above the tie
		{65504, 0x7bff},                // max half
		{65520, 0x7c00},                // tie at max rounds to Inf
		{65519, 0x7bff},                // below the tie
		{float32(math.Pow(2, -25)), 0}, // tie with 0: even (0)
		{float32(math.Pow(2, -25)) * 1.0001, 0x0001},
		{float32(math.Pow(2, -24)) * 1.5, 0x0002},            // tie between 1 and 2 subnormal units: even
		{float32(math.Pow(2, -14)) * (1 - 1.0/2048), 0x0400}, // rounds up into the normal range
		{-2, 0xc000},
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := Float32ToF16(c.f); got != c.want {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	bcases := []struct {
		bits uint32
		want uint16
	}{
		{0x3f808000, 0x3f80}, // tie: even
		{0x3f818000, 0x3f82}, // tie: up to even
		{0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, // rounds to Inf
		{0x7fc00001, 0x7fc0}, // NaN stays NaN
		{0xffc12345, 0xffc0},
	}
	for _, c := range bcases {
		if got := Float32ToBF16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("Float32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
}

// TestHalfFilesExact writes F16 and BF16 safetensors files with known bit
// patterns by hand and checks the exact float32 values read.
func TestHalfFilesExact(t *testing.T) {
	dir := t.TempDir()
	hb := []uint16{0x0001, 0x8400, 0x3555, 0x7bff, 0xfc00}
	hw := []float32{float32(math.Pow(2, -24)), -float32(math.Pow(2, -14)), 0.333251953125, 65504, float32(math.Inf(-1))}
	bb := []uint16{0x3f80, 0xc049, 0x0001, 0x7f7f}
	bw := []float32{1, -3.140625, math.Float32frombits(0x00010000), math.Float32frombits(0x7f7f0000)}
	for _, c := range []struct {
		dt   DType
		bits []uint16
		want []float32
	}{{F16, hb, hw}, {BF16, bb, bw}} {
		data := make([]byte, 0)
		for _, v := range c.bits {
			data = binary.LittleEndian.AppendUint16(data, v)
		}
		hdr := `{"t":{"dtype":"` + string(c.dt) + `","shape":[` + strconv.Itoa(len(c.bits)) + `],"data_offsets":[0,` + strconv.Itoa(len(data)) + `]}}`
		b := stBytes(hdr, 0)
		b = append(b, data...)
		path := filepath.Join(dir, string(c.dt)+".safetensors")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := ReadState(path)
		if err != nil {
			t.Fatal(err)
		}
		got := st.Tensors["t"]
		if got.DType != c.dt {
			t.Fatalf("dtype %s, want %s", got.DType, c.dt)
		}
		for i := range c.want {
			if math.Float32bits(got.Data[i]) != math.Float32bits(c.want[i]) {
				t.Fatalf("%s[%d] = %v, want %v", c.dt, i, got.Data[i], c.want[i])
			}
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ts := []Tensor{
		{Name: "b.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.0009765625}},
		{Name: "a.bias", Shape: []int{3}, Data: []float32{0.1, 0.2, 0.3}},
		{Name: "scalar", Shape: []int{}, Data: []float32{42}},
		{Name: "empty", Shape: []int{0, 5}, Data: []float32{}},
		{Name: "weird \"name\" <&>", Shape: []int{1}, Data: []float32{-1}},
	}
	for _, dt := range []DType{F32, F16, BF16} {
		path := filepath.Join(dir, string(dt)+".safetensors")
		md := map[string]string{"format": "pt", "step": "7"}
		if err := WriteSafetensorsAs(path, dt, ts, md); err != nil {
			t.Fatal(err)
		}
		f, err := OpenSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Metadata(); len(got) != 2 || got["step"] != "7" {
			t.Fatalf("metadata %v", got)
		}
		names := f.Names()
		want := []string{"a.bias", "b.weight", "empty", "scalar", "weird \"name\" <&>"}
		if strings.Join(names, "|") != strings.Join(want, "|") {
			t.Fatalf("names %q, want %q", names, want)
		}
		for _, tt := range ts {
			info, _ := f.Info(tt.Name)
			if info.DType != dt || !slices.Equal(info.Shape, tt.Shape) {
				t.Fatalf("%s: info %+v", tt.Name, info)
			}
			got, err := f.Float32(tt.Name)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range tt.Data {
				var w float32
				switch dt {
				case F32:
					w = v
				case F16:
					w = F16ToFloat32(Float32ToF16(v))
				case BF16:
					w = BF16ToFloat32(Float32ToBF16(v))
				}
				if math.Float32bits(got[i]) != math.Float32bits(w) {
					t.Fatalf("%s %s[%d] = %v, want %v", dt, tt.Name, i, got[i], w)
				}
			}
		}
		f.Close()
		raw, _ := os.ReadFile(path)
		if hl := binary.LittleEndian.Uint64(raw); (8+hl)%8 != 0 || raw[8+hl-1] != ' ' && raw[8+hl-1] != '}' {
			t.Fatalf("header length %d not padded to 8", hl)
		}
	}
	// Default metadata.
	path := filepath.Join(dir, "default.safetensors")
	if err := WriteSafetensors(path, ts[:1], nil); err != nil {
		t.Fatal(err)
	}
	f, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if md := f.Metadata(); len(md) != 1 || md["format"] != "pt" {
		t.Fatalf("default metadata %v", md)
	}
}

func TestWriteSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		ts   []Tensor
		dt   DType
		want string
	}{
		{[]Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1}}}, F32, `tensor "a": shape [2] has 2 elements but 1 values`},
		{[]Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, F32, `tensor "a" appears twice`},
		{[]Tensor{{Name: "", Shape: []int{1}, Data: []float32{1}}}, F32, `invalid name ""`},
		{[]Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, F32, `tensor "a": negative dimension`},
		{nil, I64, `unsupported output dtype "I64"`},
	}
	for _, c := range cases {
		path := filepath.Join(dir, "x.safetensors")
		err := WriteSafetensorsAs(path, c.dt, c.ts, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Fatalf("error %v, want one naming %s and %q", err, path, c.want)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("failed write left %s behind", path)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "old")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 3<<20)); err != nil { // past the buffer: bytes reach the temp file
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want boom naming %s", err, path)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Fatalf("failed write changed the file to %d bytes", len(got))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only out.json", names)
	}
	// A new file that fails is not created at all.
	err = WriteFileAtomic(filepath.Join(dir, "new.bin"), func(w io.Writer) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.bin")); !os.IsNotExist(err) {
		t.Fatal("failed write created the file")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestCheckState(t *testing.T) {
	want := map[string][]int{
		"enc.w":   {4, 4},
		"enc.b":   {4},
		"head.w":  {2, 4},
		"head.b":  {2},
		"proj.w":  {3, 4},
		"other.w": {1},
	}
	have := map[string][]int{
		"enc.w":         {4, 4},
		"enc.b":         {5},
		"proj.w":        {4, 3},
		"extra.x":       {1},
		"pooler.dense":  {4, 4},
		"enc.pos_ids":   {1, 64},
		"other.w":       {1},
		"zzz.unexpecte": {},
	}
	err := CheckState(want, have, LoadOptions{AllowMissing: []string{"head."}, IgnoreUnexpected: []string{"pooler."}})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v is not a *MismatchError", err)
	}
	if strings.Join(me.Missing, ",") != "" {
		t.Fatalf("missing %v", me.Missing)
	}
	if strings.Join(me.Unexpected, ",") != "enc.pos_ids,extra.x,zzz.unexpecte" {
		t.Fatalf("unexpected %v", me.Unexpected)
	}
	if len(me.Misshaped) != 2 || me.Misshaped[0].Name != "enc.b" || me.Misshaped[1].Name != "proj.w" {
		t.Fatalf("misshaped %+v", me.Misshaped)
	}
	msg := err.Error()
	for _, s := range []string{"0 missing, 3 unexpected, 2 mis-shaped", "unexpected: extra.x", "mis-shaped: proj.w: model wants [3 4], file has [4 3]", "mis-shaped: enc.b: model wants [4], file has [5]"} {
		if !strings.Contains(msg, s) {
			t.Fatalf("message %q lacks %q", msg, s)
		}
	}
	err = CheckState(want, have, LoadOptions{})
	if !errors.As(err, &me) || strings.Join(me.Missing, ",") != "head.b,head.w" || len(me.Unexpected) != 4 {
		t.Fatalf("strict check: %v", err)
	}
	if err := CheckState(want, want, LoadOptions{}); err != nil {
		t.Fatalf("identical shapes: %v", err)
	}
}
