package cuda

// Philox4x32 is the Philox4x32-10 counter-based generator (Salmon, Moraes,
// Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011): the
// host reference for kernels/dropout.cu, which computes the same words on
// the device. It returns the four 32-bit words for counter c and key k.
func Philox4x32(c [4]uint32, k [2]uint32) [4]uint32 {
	const (
		m0, m1 = 0xD2511F53, 0xCD9E8D57
		w0, w1 = 0x9E3779B9, 0xBB67AE85
	)
	for r := 0; r < 10; r++ {
		if r > 0 {
			k[0] += w0
			k[1] += w1
		}
		p0 := uint64(m0) * uint64(c[0])
		p1 := uint64(m1) * uint64(c[2])
		c = [4]uint32{uint32(p1>>32) ^ c[1] ^ k[0], uint32(p1), uint32(p0>>32) ^ c[3] ^ k[1], uint32(p0)}
	}
	return c
}

// DropoutMask is the host reference of the device dropout mask for n
// elements, drop probability p, seed and counter offset: element i's
// uniform is word i%4 of Philox4x32((i/4, (i/4)>>32, offset, offset>>32),
// seed), kept (multiplier 1/(1−p)) when u ≥ p·2³², the keep rule of
// kern.DropoutForward.
func DropoutMask(n int, p float64, seed, offset uint64) []float32 {
	thr := uint32(p * (1 << 32))
	scale := float32(1 / (1 - p))
	out := make([]float32, n)
	key := [2]uint32{uint32(seed), uint32(seed >> 32)}
	for g := 0; g*4 < n; g++ {
		w := Philox4x32([4]uint32{uint32(g), uint32(uint64(g) >> 32), uint32(offset), uint32(offset >> 32)}, key)
		for j := 0; j < 4 && g*4+j < n; j++ {
			if w[j] >= thr {
				out[g*4+j] = scale
			}
		}
	}
	return out
}
