package cuda

import (
	"math"
	"testing"
)

// The known-answer vectors of Philox4x32-10 published with the Random123
// library (kat_vectors: philox4x32 10 rounds): zero, all-ones and the
// digits of π as counter and key.
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		c    [4]uint32
		k    [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.c, c.k); got != c.want {
			t.Errorf("Philox4x32(%08x, %08x) = %08x, want %08x", c.c, c.k, got, c.want)
		}
	}
}

// The dropout mask keeps about 1−p of the elements, each scaled by
// 1/(1−p); different offsets give different masks; the same arguments the
// same mask.
func TestDropoutMaskStatistics(t *testing.T) {
	const n, p = 100003, 0.3
	m := DropoutMask(n, p, 42, 7)
	kept := 0
	scale := float32(1 / (1 - p))
	for i, v := range m {
		switch v {
		case 0:
		case scale:
			kept++
		default:
			t.Fatalf("mask[%d] = %v, want 0 or %v", i, v, scale)
		}
	}
	frac := float64(kept) / n
	// Binomial standard deviation √(p(1−p)/n) ≈ 0.00145: 5σ.
	if math.Abs(frac-(1-p)) > 5*math.Sqrt(p*(1-p)/n) {
		t.Fatalf("kept fraction %.4f, want %.4f", frac, 1-p)
	}
	again := DropoutMask(n, p, 42, 7)
	other := DropoutMask(n, p, 42, 8)
	same, diff := true, 0
	for i := range m {
		same = same && m[i] == again[i]
		if m[i] != other[i] {
			diff++
		}
	}
	if !same {
		t.Fatal("same seed and offset gave a different mask")
	}
	// Independent masks differ in 2p(1−p) = 42% of the elements.
	if diff < n/3 {
		t.Fatalf("offsets 7 and 8 differ in only %d of %d elements", diff, n)
	}
}
