package kern

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines ParallelFor uses; it defaults to
// GOMAXPROCS and may be lowered (1 makes every kernel single-threaded).
var Workers = runtime.GOMAXPROCS(0)

// ParallelFor runs body over [0, n) split into contiguous chunks, one per
// worker. grain is the smallest chunk worth a goroutine; below it the loop
// runs on the caller's goroutine. The split depends only on n, grain and
// Workers, so results are deterministic whenever body writes disjoint
// outputs per index.
func ParallelFor(n, grain int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	w := Workers
	if grain < 1 {
		grain = 1
	}
	if max := n / grain; max < w {
		w = max
	}
	if w <= 1 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := 0; lo < n; lo += chunk {
		hi := lo + chunk
		if hi > n {
			hi = n
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			body(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}
