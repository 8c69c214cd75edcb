package checkpoints

import "unsafe"

// littleEndian reports whether the host stores numbers little-endian, so F32
// data can be copied without per-element conversion.
var littleEndian = func() bool {
	var x uint16 = 1
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// copyF32 copies little-endian float32 bytes into dst when the host is
// little-endian and b is 4-byte aligned; it reports whether it did.
func copyF32(dst []float32, b []byte) bool {
	if !littleEndian || len(dst) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 != 0 {
		return false
	}
	copy(dst, unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(dst)))
	return true
}

// f32Bytes views float32 values as little-endian bytes on little-endian
// hosts (nil elsewhere).
func f32Bytes(v []float32) []byte {
	if !littleEndian || len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}
