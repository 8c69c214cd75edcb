// Package bench holds gliner-go's end-to-end speed benchmarks, shaped to
// match the reference timing script /work/shared/reference/bench_reference.py
// so that scripts/bench_vs_reference.sh can report the ratio of the two. It
// has no API: everything is in its _test.go files.
package bench
