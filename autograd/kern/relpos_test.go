package kern

import (
	"math"
	"testing"
)

// bucket64 is make_log_bucket_position (transformers
// models/deberta_v2/modeling_deberta_v2.py) evaluated in float64.
func bucket64(r, P, Pmax int) int {
	mid := P / 2
	a := math.Abs(float64(r))
	if a <= float64(mid) {
		return r
	}
	v := math.Ceil(math.Log(a/float64(mid))/math.Log(float64(Pmax-1)/float64(mid))*float64(mid-1)) + float64(mid)
	if r < 0 {
		v = -v
	}
	return int(v)
}

func TestRelativePositionBucketV3(t *testing.T) {
	const P, Pmax = 256, 512
	for r := -2000; r <= 2000; r++ {
		b := RelativePositionBucket(r, P, Pmax)
		if nb := RelativePositionBucket(-r, P, Pmax); nb != -b {
			t.Fatalf("bucket(%d) = %d but bucket(%d) = %d: not odd", r, b, -r, nb)
		}
		if r >= -128 && r <= 128 && b != r {
			t.Fatalf("bucket(%d) = %d, want identity", r, b)
		}
		if r >= -511 && r <= 511 {
			if b > 255 || b < -255 {
				t.Fatalf("bucket(%d) = %d, |bucket| > 255", r, b)
			}
			if want := bucket64(r, P, Pmax); b != want {
				t.Fatalf("bucket(%d) = %d, float64 formula gives %d", r, b, want)
			}
		}
		if r > 0 && b < RelativePositionBucket(r-1, P, Pmax) {
			t.Fatalf("bucket not monotone at %d", r)
		}
	}
	// Exact values worked by hand: ln(129/128)/ln(511/128)·127 = 0.714 → 129;
	// r = 200 gives 40.9 → 169; r = 511 gives exactly 127 → 255; r = 512 gives
	// 127.18 → 256.
	for _, c := range [][2]int{{129, 129}, {-129, -129}, {511, 255}, {512, 256}, {-512, -256}, {200, 169}} {
		if got := RelativePositionBucket(c[0], P, Pmax); got != c[1] {
			t.Errorf("bucket(%d) = %d, want %d", c[0], got, c[1])
		}
	}
	idx, err := BuildRelativeIndex(600, P, Pmax)
	if err != nil {
		t.Fatal(err)
	}
	// r = 599 − 0 saturates at 2·256 − 1; r = −599 at 0; the diagonal is 256.
	if got := idx[599*600+0]; got != 511 {
		t.Errorf("δ(599,0) = %d, want 511", got)
	}
	if got := idx[0*600+599]; got != 0 {
		t.Errorf("δ(0,599) = %d, want 0", got)
	}
	if got := idx[300*600+300]; got != 256 {
		t.Errorf("δ(300,300) = %d, want 256", got)
	}
}

// TestBuildRelativeIndexFixtureSettings uses the GLiNER fixtures' settings:
// position_buckets 256, max_relative_positions −1 ⇒ max_position_embeddings
// 64. Every |i−j| < 64 ≤ mid, so δ(i,j) = i − j + 256.
func TestBuildRelativeIndexFixtureSettings(t *testing.T) {
	const T = 64
	idx, err := BuildRelativeIndex(T, 256, 64)
	if err != nil {
		t.Fatal(err)
	}
	if AttSpan(256, 64) != 256 {
		t.Fatalf("AttSpan(256, 64) = %d, want 256", AttSpan(256, 64))
	}
	for i := 0; i < T; i++ {
		for j := 0; j < T; j++ {
			if got := idx[i*T+j]; got != int32(i-j+256) {
				t.Fatalf("δ(%d,%d) = %d, want %d", i, j, got, i-j+256)
			}
		}
	}
}

func TestBuildRelativeIndexSmall(t *testing.T) {
	// P = 4 (mid 2), Pmax = 6: bucket(3) = ceil(ln 1.5 / ln 2.5) + 2 = 3,
	// bucket(4) = ceil(ln 2 / ln 2.5) + 2 = 3; att_span 4.
	idx, err := BuildRelativeIndex(5, 4, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{
		4, 3, 2, 1, 1,
		5, 4, 3, 2, 1,
		6, 5, 4, 3, 2,
		7, 6, 5, 4, 3,
		7, 7, 6, 5, 4,
	}
	for x := range want {
		if idx[x] != want[x] {
			t.Fatalf("index %v, want %v", idx, want)
		}
	}
	// No bucketing (P ≤ 0): att_span = Pmax = 2, clamp to [0, 3].
	idx, err = BuildRelativeIndex(4, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	want = []int32{
		2, 1, 0, 0,
		3, 2, 1, 0,
		3, 3, 2, 1,
		3, 3, 3, 2,
	}
	for x := range want {
		if idx[x] != want[x] {
			t.Fatalf("unbucketed index %v, want %v", idx, want)
		}
	}
	if _, err := BuildRelativeIndex(3, 0, 0); err == nil {
		t.Error("BuildRelativeIndex with no span: want error")
	}
	if _, err := BuildRelativeIndex(-1, 4, 6); err == nil {
		t.Error("BuildRelativeIndex with negative length: want error")
	}
}
