package checkpoints

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/gliner-go/gliner/internal/fileio"
)

// Tensor is a named float32 tensor to write, Data in row-major order.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// WriteSafetensors writes tensors as F32 to path atomically, in the layout the
// Python safetensors library produces: keys sorted, data in key order,
// header padded with spaces to a multiple of 8 bytes. metadata becomes
// __metadata__; nil means {"format":"pt"}.
func WriteSafetensors(path string, tensors []Tensor, metadata map[string]string) error {
	return WriteSafetensorsAs(path, F32, tensors, metadata)
}

// WriteSafetensorsAs is WriteSafetensors storing the values as dtype (F32,
// F16 or BF16; the narrow types round to nearest, ties to even, as torch
// does).
func WriteSafetensorsAs(path string, dtype DType, tensors []Tensor, metadata map[string]string) error {
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		return EncodeSafetensors(w, dtype, tensors, metadata)
	}); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	return nil
}

// EncodeSafetensors writes a safetensors stream to w (see WriteSafetensorsAs).
func EncodeSafetensors(w io.Writer, dtype DType, tensors []Tensor, metadata map[string]string) error {
	if dtype != F32 && dtype != F16 && dtype != BF16 {
		return fmt.Errorf("unsupported output dtype %q (want F32, F16 or BF16)", dtype)
	}
	sorted := make([]*Tensor, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("tensor %d: invalid name %q", i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		n, err := numel(t.Shape, maxElements)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("tensor %q: shape %v has %d elements but %d values were given", t.Name, t.Shape, n, len(t.Data))
		}
		sorted[i] = t
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	if metadata == nil {
		metadata = map[string]string{"format": "pt"}
	}

	var h bytes.Buffer
	h.WriteByte('{')
	var off int64
	es := int64(dtype.Size())
	for _, t := range sorted {
		writeJSONString(&h, t.Name)
		h.WriteString(`:{"dtype":"`)
		h.WriteString(string(dtype))
		h.WriteString(`","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := off + int64(len(t.Data))*es
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]},`, off, end)
		off = end
	}
	h.WriteString(`"__metadata__":{`)
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, k)
		h.WriteByte(':')
		writeJSONString(&h, metadata[k])
	}
	h.WriteString("}}")
	for (8+h.Len())%8 != 0 {
		h.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(h.Len()))
	if _, err := bw.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := bw.Write(h.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for _, t := range sorted {
		if raw := f32Bytes(t.Data); dtype == F32 && raw != nil {
			if _, err := bw.Write(raw); err != nil {
				return err
			}
			continue
		}
		for i := 0; i < len(t.Data); {
			buf = buf[:0]
			for ; i < len(t.Data) && len(buf)+4 <= cap(buf); i++ {
				switch dtype {
				case F32:
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(t.Data[i]))
				case F16:
					buf = binary.LittleEndian.AppendUint16(buf, Float32ToF16(t.Data[i]))
				case BF16:
					buf = binary.LittleEndian.AppendUint16(buf, Float32ToBF16(t.Data[i]))
				}
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// writeJSONString writes s as a JSON string the way serde_json does (no HTML
// escaping).
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings always encode
	b.Truncate(b.Len() - 1)
}

// WriteFileAtomic creates path with the bytes write produces, through
// internal/fileio (the one implementation): a regular file is written to a
// temporary file in the same directory, fsynced, renamed over path and the
// directory fsynced; if write (or any step) fails, the temporary file is
// removed and an existing file at path is left untouched. A symbolic link
// keeps pointing where it did (its target is replaced); a device or a pipe
// (/dev/stdout, a FIFO) is written in place; "-" is standard output; a
// directory is refused. A new file gets mode 0644, a replaced one keeps its
// mode. write receives a buffered writer; it need not flush.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	return fileio.WriteFile(path, write)
}
