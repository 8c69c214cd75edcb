package checkpoints

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"syscall"
)

// MaxHeaderSize bounds a safetensors JSON header, as the Python library does
// (100 MB).
const MaxHeaderSize = 100 << 20

// TensorInfo describes one tensor of a safetensors file. Offset is the byte
// offset of its data from the start of the file, Size its length in bytes.
type TensorInfo struct {
	Name   string
	DType  DType
	Shape  []int
	Offset int64
	Size   int64
}

// Numel is the number of elements (the product of Shape).
func (t TensorInfo) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// SafetensorsFile is an open, validated safetensors file. Its data is
// memory-mapped read-only (or held in memory for files that cannot be
// mapped); tensors are converted only when read. It is safe for concurrent
// reads; Close must not race with them.
type SafetensorsFile struct {
	path     string
	data     []byte // whole file
	mapped   bool
	infos    map[string]TensorInfo
	names    []string
	metadata map[string]string
}

// OpenSafetensors memory-maps and validates a safetensors file. Every
// structural problem (truncated file, bad JSON, unknown dtype, offsets out of
// range, overlapping or not matching the shape) is an error naming the file
// and the tensor.
func OpenSafetensors(path string) (*SafetensorsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	size := st.Size()
	if size < 0 || size > math.MaxInt {
		return nil, fmt.Errorf("safetensors %s: file size %d not addressable", path, size)
	}
	var data []byte
	mapped := false
	if size > 0 {
		data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
		if err == nil {
			mapped = true
		} else {
			data = make([]byte, size)
			if _, err := io.ReadFull(f, data); err != nil {
				return nil, fmt.Errorf("safetensors %s: read: %w", path, err)
			}
		}
	}
	sf, err := parseSafetensors(path, data)
	if err != nil {
		if mapped {
			_ = syscall.Munmap(data)
		}
		return nil, err
	}
	sf.mapped = mapped
	return sf, nil
}

// ParseSafetensors validates a safetensors file held in memory; name is used
// in error messages. The returned file reads from b, which must not change.
func ParseSafetensors(name string, b []byte) (*SafetensorsFile, error) {
	return parseSafetensors(name, b)
}

type headerEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

func parseSafetensors(path string, data []byte) (*SafetensorsFile, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors %s: %s", path, fmt.Sprintf(format, args...))
	}
	if len(data) < 8 {
		return nil, fail("file is %d bytes, too short for the 8-byte header length", len(data))
	}
	hlen := binary.LittleEndian.Uint64(data[:8])
	if hlen > uint64(len(data)-8) {
		return nil, fail("header length %d runs past the end of the file (%d bytes)", hlen, len(data))
	}
	if hlen > MaxHeaderSize {
		return nil, fail("header length %d exceeds the %d-byte limit", hlen, MaxHeaderSize)
	}
	header := data[8 : 8+hlen]
	body := data[8+hlen:]
	base := int64(8 + hlen)

	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fail("invalid JSON header: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail("invalid JSON header: want an object, found %v", tok)
	}
	sf := &SafetensorsFile{path: path, data: data, infos: map[string]TensorInfo{}}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("invalid JSON header: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fail("invalid JSON header: key %v is not a string", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fail("invalid JSON header at key %q: %v", name, err)
		}
		if name == "__metadata__" {
			if seenMeta {
				return nil, fail("__metadata__ appears twice")
			}
			seenMeta = true
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil {
				return nil, fail("__metadata__ must map strings to strings: %v", err)
			}
			sf.metadata = md
			continue
		}
		if _, dup := sf.infos[name]; dup {
			return nil, fail("tensor %q appears twice in the header", name)
		}
		var e headerEntry
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, fail("tensor %q: invalid header entry: %v", name, err)
		}
		if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
			return nil, fail("tensor %q: header entry needs dtype, shape and data_offsets", name)
		}
		dt := DType(*e.DType)
		if dt.Size() == 0 {
			return nil, fail("tensor %q: unknown dtype %q", name, *e.DType)
		}
		shape := make([]int, len(*e.Shape))
		for i, v := range *e.Shape {
			if v < 0 || v > maxElements {
				return nil, fail("tensor %q: invalid dimension %d in shape %v", name, v, *e.Shape)
			}
			shape[i] = int(v)
		}
		n, err := numel(shape, maxElements)
		if err != nil {
			return nil, fail("tensor %q: %v", name, err)
		}
		offs := *e.DataOffsets
		if len(offs) != 2 {
			return nil, fail("tensor %q: data_offsets has %d values, want 2", name, len(offs))
		}
		begin, end := offs[0], offs[1]
		if begin < 0 || end < begin || end > int64(len(body)) {
			return nil, fail("tensor %q: data_offsets [%d, %d] out of range for %d data bytes", name, begin, end, len(body))
		}
		if want := int64(n) * int64(dt.Size()); end-begin != want {
			return nil, fail("tensor %q: data_offsets [%d, %d] hold %d bytes, but %s shape %v needs %d", name, begin, end, end-begin, dt, shape, want)
		}
		sf.infos[name] = TensorInfo{Name: name, DType: dt, Shape: shape, Offset: base + begin, Size: end - begin}
		spans = append(spans, span{name, begin, end})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fail("invalid JSON header: %v", err)
	}
	if rest := bytes.TrimLeft(header[dec.InputOffset():], " \t\r\n"); len(rest) != 0 {
		return nil, fail("invalid JSON header: %d unexpected bytes after the object", len(rest))
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		if spans[i].end != spans[j].end {
			return spans[i].end < spans[j].end
		}
		return spans[i].name < spans[j].name
	})
	var pos int64
	prev := ""
	for _, s := range spans {
		if s.begin < pos {
			return nil, fail("tensor %q: data_offsets [%d, %d] overlap tensor %q (which ends at %d)", s.name, s.begin, s.end, prev, pos)
		}
		if s.begin > pos {
			return nil, fail("tensor %q: data_offsets [%d, %d] leave bytes %d..%d unused", s.name, s.begin, s.end, pos, s.begin)
		}
		pos = s.end
		prev = s.name
	}
	if pos != int64(len(body)) {
		return nil, fail("tensors cover %d data bytes but the file holds %d", pos, len(body))
	}
	sf.names = make([]string, 0, len(sf.infos))
	for n := range sf.infos {
		sf.names = append(sf.names, n)
	}
	sort.Strings(sf.names)
	return sf, nil
}

// Path is the file's path (or the name given to ParseSafetensors).
func (f *SafetensorsFile) Path() string { return f.path }

// Names lists the tensor names, sorted.
func (f *SafetensorsFile) Names() []string { return append([]string(nil), f.names...) }

// Info describes one tensor.
func (f *SafetensorsFile) Info(name string) (TensorInfo, bool) {
	t, ok := f.infos[name]
	if ok {
		t.Shape = append([]int(nil), t.Shape...)
	}
	return t, ok
}

// Metadata returns the header's __metadata__ map (nil if absent).
func (f *SafetensorsFile) Metadata() map[string]string {
	if f.metadata == nil {
		return nil
	}
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// ErrClosed is returned by reads after Close.
var ErrClosed = errors.New("file already closed")

func (f *SafetensorsFile) raw(name string) (TensorInfo, []byte, error) {
	if f.data == nil && len(f.infos) > 0 {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.path, name, ErrClosed)
	}
	t, ok := f.infos[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: no tensor %q", f.path, name)
	}
	return t, f.data[t.Offset : t.Offset+t.Size], nil
}

// ReadFloat32 converts tensor name into dst, whose length must equal the
// tensor's element count. F32, F16 and BF16 convert exactly; F64 rounds to
// the nearest float32; integer tensors are an error.
func (f *SafetensorsFile) ReadFloat32(name string, dst []float32) error {
	t, b, err := f.raw(name)
	if err != nil {
		return err
	}
	if n := t.Numel(); len(dst) != n {
		return fmt.Errorf("safetensors %s: tensor %q: destination holds %d values, shape %v has %d", f.path, name, len(dst), t.Shape, n)
	}
	if err := decodeFloat32(t.DType, b, dst); err != nil {
		return fmt.Errorf("safetensors %s: tensor %q: %w", f.path, name, err)
	}
	return nil
}

// Float32 returns tensor name converted to float32 (see ReadFloat32).
func (f *SafetensorsFile) Float32(name string) ([]float32, error) {
	t, ok := f.infos[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: no tensor %q", f.path, name)
	}
	dst := make([]float32, t.Numel())
	if err := f.ReadFloat32(name, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// Int64 returns an integer or boolean tensor as int64 values.
func (f *SafetensorsFile) Int64(name string) ([]int64, error) {
	t, b, err := f.raw(name)
	if err != nil {
		return nil, err
	}
	dst := make([]int64, t.Numel())
	if err := decodeInt64(t.DType, b, dst); err != nil {
		return nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.path, name, err)
	}
	return dst, nil
}

// Close releases the mapping. Reads after Close return ErrClosed.
func (f *SafetensorsFile) Close() error {
	if f.data == nil {
		return nil
	}
	data := f.data
	f.data = nil
	if f.mapped {
		f.mapped = false
		if err := syscall.Munmap(data); err != nil {
			return fmt.Errorf("safetensors %s: munmap: %w", f.path, err)
		}
	}
	return nil
}

// decodeFloat32 converts little-endian elements of dtype dt in b to dst
// (len(b) = len(dst)·dt.Size()).
func decodeFloat32(dt DType, b []byte, dst []float32) error {
	switch dt {
	case F32:
		if copyF32(dst, b) {
			return nil
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	default:
		return fmt.Errorf("dtype %s is not a floating-point type; read it as int64", dt)
	}
	return nil
}

// decodeInt64 converts little-endian integer or boolean elements to int64.
func decodeInt64(dt DType, b []byte, dst []int64) error {
	switch dt {
	case I64:
		for i := range dst {
			dst[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		for i := range dst {
			dst[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = int64(int8(b[i]))
		}
	case U8:
		for i := range dst {
			dst[i] = int64(b[i])
		}
	case Bool:
		for i := range dst {
			if b[i] > 1 {
				return fmt.Errorf("element %d: bool byte %d is neither 0 nor 1", i, b[i])
			}
			dst[i] = int64(b[i])
		}
	default:
		return fmt.Errorf("dtype %s is not an integer type; read it as float32", dt)
	}
	return nil
}
