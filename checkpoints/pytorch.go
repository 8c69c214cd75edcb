package checkpoints

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// ReadPyTorch reads a state dict saved by torch.save (pytorch_model.bin,
// *.pt), in the zip format or the legacy non-zip format. The file must hold a
// dict (or OrderedDict) from names to tensors; any other value is an error.
// Tensors are made contiguous in row-major order, whatever their storage
// offset and strides.
func ReadPyTorch(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pytorch: %w", err)
	}
	st, err := ParsePyTorch(path, b)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// ParsePyTorch is ReadPyTorch on a file held in memory; name is used in
// error messages.
func ParsePyTorch(name string, b []byte) (*State, error) {
	var st *State
	var err error
	if bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")) {
		st, err = parseTorchZip(b)
	} else {
		st, err = parseTorchLegacy(b)
	}
	if err != nil {
		return nil, fmt.Errorf("pytorch %s: %w", name, err)
	}
	st.Path = name
	return st, nil
}

func parseTorchZip(b []byte) (*State, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	var pkl *zip.File
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
		dir, base, ok := strings.Cut(f.Name, "/")
		if ok && base == "data.pkl" && dir != "" {
			if pkl != nil {
				return nil, fmt.Errorf("zip holds two data.pkl records (%s and %s)", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("zip holds no <archive>/data.pkl: not a torch.save file")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := files[prefix+"byteorder"]; ok {
		v, err := readZipFile(bo, len(b), 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(v)); s != "little" {
			return nil, fmt.Errorf("byteorder %q is not supported (only little endian)", s)
		}
	}
	code, err := readZipFile(pkl, len(b), maxPickleBytes)
	if err != nil {
		return nil, err
	}
	storages := map[string]*storageRef{}
	persist := func(pid any) (any, error) {
		st, err := storageFromPID(pid, 5, storages)
		if err != nil {
			return nil, err
		}
		if st.data != nil {
			return st, nil
		}
		name := prefix + "data/" + st.key
		f, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("storage %q: record %s missing from the zip", st.key, name)
		}
		want := st.numel * int64(st.dtype.Size())
		if int64(f.UncompressedSize64) != want {
			return nil, fmt.Errorf("storage %q: record %s holds %d bytes, %d %s elements need %d", st.key, name, f.UncompressedSize64, st.numel, st.dtype, want)
		}
		data, err := readZipFile(f, len(b), want)
		if err != nil {
			return nil, err
		}
		if int64(len(data)) != want {
			return nil, fmt.Errorf("storage %q: record %s holds %d bytes, want %d", st.key, name, len(data), want)
		}
		st.data = data
		return st, nil
	}
	obj, _, err := unpickle(code, persist)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	return stateFromObject(obj, materializeBudget(len(b)))
}

// maxPickleBytes caps data.pkl, the pickled structure of a torch.save zip
// (the tensors' bytes are separate records). It holds a few hundred bytes
// per tensor (name, storage key, shape, strides): about 100 KB for a
// DeBERTa-v3-large GLiNER's ~400 tensors, so 64 MiB allows a state dict of
// some 200 000 tensors while a small, corrupt or hostile .bin (deflate
// expands up to 1032:1: a 1.3 MB file claimed 1 GiB) cannot make the
// reader allocate more.
const maxPickleBytes = 64 << 20

// materializeBudget bounds the elements of all converted tensors of a file
// of n bytes: tensors may share storages (tied weights) or broadcast them,
// but a small file must not make the reader allocate without limit.
func materializeBudget(n int) int64 { return 2*int64(n) + 1<<22 }

// readZipFile reads one zip record, refusing more than limit bytes.
func readZipFile(f *zip.File, archiveSize int, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record %s: %d bytes is more than the limit (%d bytes)", f.Name, f.UncompressedSize64, limit)
	}
	// A record cannot hold more than its compressed bytes allow (stored:
	// equal; deflate: at most ~1032:1), so a corrupt header cannot make us
	// allocate more than the file justifies.
	if f.CompressedSize64 > uint64(archiveSize) ||
		(f.Method == zip.Store && f.UncompressedSize64 != f.CompressedSize64) ||
		f.UncompressedSize64 > 1032*f.CompressedSize64+64 {
		return nil, fmt.Errorf("record %s: sizes %d (compressed) and %d are inconsistent", f.Name, f.CompressedSize64, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	defer rc.Close()
	data := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	return data, nil
}

// storageFromPID decodes a persistent id ('storage', StorageClass, key,
// location, numel[, view_metadata]) into a (shared) storage reference.
func storageFromPID(pid any, minLen int, storages map[string]*storageRef) (*storageRef, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) < minLen {
		return nil, fmt.Errorf("persistent id is %s, want a tuple ('storage', type, key, location, size)", typeName(pid))
	}
	if s, ok := t[0].(string); !ok || s != "storage" {
		return nil, fmt.Errorf("persistent id kind %s is not 'storage'", typeName(t[0]))
	}
	g, ok := t[1].(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("persistent id storage type is %s", typeName(t[1]))
	}
	dt, ok := storageDTypes[g.String()]
	if !ok {
		return nil, fmt.Errorf("storage type %s is not supported", g)
	}
	var key string
	switch k := t[2].(type) {
	case string:
		key = k
	case int64:
		key = fmt.Sprint(k)
	default:
		return nil, fmt.Errorf("storage key is %s", typeName(t[2]))
	}
	n, ok := asInt(t[4])
	if !ok || n < 0 || n > maxElements {
		return nil, fmt.Errorf("storage %q: invalid element count", key)
	}
	if len(t) > 5 && t[5] != nil {
		return nil, fmt.Errorf("storage %q: storage views are not supported", key)
	}
	if st, ok := storages[key]; ok {
		if st.dtype != dt || st.numel != n {
			return nil, fmt.Errorf("storage %q used as %s×%d and %s×%d", key, st.dtype, st.numel, dt, n)
		}
		return st, nil
	}
	st := &storageRef{key: key, dtype: dt, numel: n}
	storages[key] = st
	return st, nil
}

// legacy format: pickles of the magic number, protocol version and system
// info, then the object, then the sorted list of storage keys, then each
// storage as an int64 element count and its raw bytes.
const legacyMagic = 0x1950a86a20f9469cfc6c

func parseTorchLegacy(b []byte) (*State, error) {
	pos := 0
	next := func(what string, persist persistentLoader) (any, error) {
		v, n, err := unpickle(b[pos:], persist)
		if err != nil {
			return nil, fmt.Errorf("legacy format, %s pickle at byte %d: %w", what, pos, err)
		}
		pos += n
		return v, nil
	}
	if len(b) == 0 || b[0] != 0x80 {
		return nil, fmt.Errorf("neither a zip archive nor a legacy torch.save pickle")
	}
	// The magic number does not fit in 64 bits; check its bytes directly.
	magic := []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e}
	if !bytes.HasPrefix(b, magic) {
		return nil, fmt.Errorf("not a torch.save file: legacy magic number missing")
	}
	pos = len(magic)
	ver, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if v, ok := ver.(int64); !ok || v != 1001 {
		return nil, fmt.Errorf("legacy format: protocol version %v is not supported (want 1001)", ver)
	}
	info, err := next("system info", nil)
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pyDict); ok {
		if i, ok := d.index["little_endian"]; ok && d.vals[i] != true {
			return nil, fmt.Errorf("legacy format: big-endian files are not supported")
		}
	}
	storages := map[string]*storageRef{}
	obj, err := next("object", func(pid any) (any, error) {
		return storageFromPID(pid, 5, storages)
	})
	if err != nil {
		return nil, err
	}
	keysV, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are %s, want a list", typeName(keysV))
	}
	for _, kv := range keys.items {
		key, ok := kv.(string)
		if !ok {
			return nil, fmt.Errorf("legacy format: storage key is %s", typeName(kv))
		}
		st, ok := storages[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %q is listed but never used", key)
		}
		if st.data != nil {
			return nil, fmt.Errorf("legacy format: storage %q is listed twice", key)
		}
		if len(b)-pos < 8 {
			return nil, fmt.Errorf("legacy format: storage %q: truncated element count at byte %d", key, pos)
		}
		n := int64(binary.LittleEndian.Uint64(b[pos:]))
		pos += 8
		if n != st.numel {
			return nil, fmt.Errorf("legacy format: storage %q has %d elements, the pickle says %d", key, n, st.numel)
		}
		size := st.numel * int64(st.dtype.Size())
		if size > int64(len(b)-pos) {
			return nil, fmt.Errorf("legacy format: storage %q: %d bytes needed at byte %d, only %d left", key, size, pos, len(b)-pos)
		}
		st.data = b[pos : pos+int(size)]
		pos += int(size)
	}
	if pos != len(b) {
		return nil, fmt.Errorf("legacy format: %d unexpected bytes after the last storage", len(b)-pos)
	}
	for k, st := range storages {
		if st.data == nil {
			return nil, fmt.Errorf("legacy format: storage %q is used but not stored", k)
		}
	}
	return stateFromObject(obj, materializeBudget(len(b)))
}

// stateFromObject turns the unpickled dict of tensors into a State, refusing
// to convert more than budget bytes in all.
func stateFromObject(obj any, budget int64) (*State, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("top-level object is %s, want a dict of tensors (a state dict)", typeName(obj))
	}
	s := &State{Tensors: make(map[string]*StateTensor, len(d.keys))}
	for i, kv := range d.keys {
		name, ok := kv.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %d is %s, want a string", i, typeName(kv))
		}
		t, ok := d.vals[i].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("state dict entry %q is %s, not a tensor", name, typeName(d.vals[i]))
		}
		n, _ := numel(t.shape, maxElements)
		budget -= int64(n)
		if budget < 0 {
			return nil, fmt.Errorf("state dict entry %q: tensors total more elements than a file of this size can justify (shared or broadcast storages?)", name)
		}
		st, err := materialize(name, t)
		if err != nil {
			return nil, err
		}
		s.Tensors[name] = st
		s.Names = append(s.Names, name)
	}
	sort.Strings(s.Names)
	return s, nil
}

// materialize copies a strided view of a storage into a contiguous tensor.
func materialize(name string, t *pyTensor) (*StateTensor, error) {
	st := t.storage
	if st.data == nil {
		return nil, fmt.Errorf("tensor %q: storage %q has no data", name, st.key)
	}
	es := st.dtype.Size()
	n, _ := numel(t.shape, maxElements) // validated by rebuildTensor
	// Gather the element bytes in row-major order.
	raw := make([]byte, n*es)
	if n > 0 {
		contiguous := true
		want := int64(1)
		for i := len(t.shape) - 1; i >= 0; i-- {
			if t.shape[i] != 1 && t.stride[i] != want {
				contiguous = false
				break
			}
			want *= int64(t.shape[i])
		}
		if contiguous {
			copy(raw, st.data[t.offset*int64(es):])
		} else {
			// Walk the outer indices; copy the last axis with its stride.
			r := len(t.shape)
			inner, istride := t.shape[r-1], t.stride[r-1]*int64(es)
			idx := make([]int, r-1)
			for k := 0; k < n; k += inner {
				off := t.offset
				for d, i := range idx {
					off += int64(i) * t.stride[d]
				}
				src := off * int64(es)
				dst := raw[k*es : (k+inner)*es]
				for j := 0; j < inner; j++ {
					copy(dst[j*es:(j+1)*es], st.data[src:])
					src += istride
				}
				for d := len(idx) - 1; d >= 0; d-- {
					idx[d]++
					if idx[d] < t.shape[d] {
						break
					}
					idx[d] = 0
				}
			}
		}
	}
	out := &StateTensor{Name: name, DType: st.dtype, Shape: append([]int(nil), t.shape...)}
	if st.dtype.IsFloat() {
		out.Data = make([]float32, n)
		if err := decodeFloat32(st.dtype, raw, out.Data); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
	} else {
		out.Ints = make([]int64, n)
		if err := decodeInt64(st.dtype, raw, out.Ints); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	return out, nil
}
