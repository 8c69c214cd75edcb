package kern

import "fmt"

// Embedding looks up rows of weight (V,D): dst[i] = weight[ids[i]] for
// dst (n,D). An id outside [0, V) is an error naming its position.
func Embedding(dst, weight []float32, ids []int32, V, D int) error {
	checkLen("Embedding", "weight", weight, V*D)
	checkLen("Embedding", "dst", dst, len(ids)*D)
	if err := checkIDs("Embedding", ids, V); err != nil {
		return err
	}
	ParallelFor(len(ids), 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k := int(ids[i])
			copy(dst[i*D:(i+1)*D], weight[k*D:(k+1)*D])
		}
	})
	return nil
}

func checkIDs(fn string, ids []int32, V int) error {
	for i, k := range ids {
		if k < 0 || int(k) >= V {
			return fmt.Errorf("kern.%s: id[%d] = %d outside [0, %d)", fn, i, k, V)
		}
	}
	return nil
}

// EmbeddingBackward OVERWRITES dW (V,D) with the embedding gradient: it
// zeroes dW, then adds dy[i] (n,D) into row ids[i] for i in increasing
// order. Duplicate ids therefore accumulate, always in the same order:
// each goroutine owns a block of columns and walks all ids, so the result
// is bit-identical for any Workers. An id outside [0, V) is an error.
func EmbeddingBackward(dW, dy []float32, ids []int32, V, D int) error {
	checkLen("EmbeddingBackward", "dW", dW, V*D)
	checkLen("EmbeddingBackward", "dy", dy, len(ids)*D)
	if err := checkIDs("EmbeddingBackward", ids, V); err != nil {
		return err
	}
	elementwise(len(dW), func(lo, hi int) { clear(dW[lo:hi]) })
	ParallelFor(D, 16, func(lo, hi int) {
		for i, k := range ids {
			acc := dW[int(k)*D+lo : int(k)*D+hi]
			g := dy[i*D+lo : i*D+hi]
			for j, v := range g {
				acc[j] += v
			}
		}
	})
	return nil
}
