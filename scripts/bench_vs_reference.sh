#!/bin/bash
# Times one UniEncoderSpan training step of gliner-go (bench.BenchmarkUniEncoderSpanTrainStep)
# and of the reference Python GLiNER (/work/shared/reference/bench_reference.py: same model,
# same batch shapes, 2 threads), interleaved ROUNDS times in one session because the machine's
# load is noisy, and prints both medians and the ratio. Both medians are over single steps: the
# Go benchmark runs GO_COUNT times per round with -benchtime 1x (the first, graph-compiling step
# is untimed), and the reference's per-step times after its 3 warm-up steps are read from its log.
#
# Needs the reference environment built by /work/shared/reference/setup_refenv.sh (see the
# README there); this script only uses it.
#
# usage: scripts/bench_vs_reference.sh            (ROUNDS=3 GO_COUNT=5 by default)
#        ROUNDS=5 GO_COUNT=8 scripts/bench_vs_reference.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${GLINER_SHARED:-$ROOT/../shared}
REFENV=${REFENV:-/tmp/refenv}
PY=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-3}
GO_COUNT=${GO_COUNT:-5}
BENCH_PY=$SHARED/reference/bench_reference.py

die() {
	echo "bench_vs_reference: $*" >&2
	exit 1
}
[[ -f $BENCH_PY ]] || die "$BENCH_PY not found (set GLINER_SHARED to the shared folder)"
[[ -d $REFENV/gliner && -d $REFENV/transformers ]] ||
	die "no reference environment in $REFENV: build it with $SHARED/reference/setup_refenv.sh (see $SHARED/reference/README.md), or set REFENV"
PYTHONPATH=$REFENV "$PY" -c 'import torch, gliner' 2>/dev/null ||
	die "$PY cannot import torch and gliner with PYTHONPATH=$REFENV: rebuild it with $SHARED/reference/setup_refenv.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$ROOT" && go test -c -o "$TMP/bench.test" ./bench) || die "building the Go benchmark failed"

# Peak RSS of the Go benchmark process when GNU time is installed.
TIMEV=()
[[ -x /usr/bin/time ]] && TIMEV=(/usr/bin/time -a -o "$TMP/go.mb" -f '%M')

for ((r = 1; r <= ROUNDS; r++)); do
	echo "== round $r/$ROUNDS: gliner-go" >&2
	(cd "$ROOT/bench" && "${TIMEV[@]}" "$TMP/bench.test" -test.run '^$' -test.bench '^BenchmarkUniEncoderSpanTrainStep$' \
		-test.benchtime 1x -test.count "$GO_COUNT" -test.benchmem) | tee -a "$TMP/go.txt" >&2
	echo "== round $r/$ROUNDS: reference" >&2
	OMP_WAIT_POLICY=PASSIVE PYTHONPATH=$REFENV "$PY" "$BENCH_PY" 2>/dev/null | tee -a "$TMP/py.txt" >&2
done

# Go: ns/op of each single-step run; reference: "step N T s" lines after the 3 warm-up steps.
awk '/^BenchmarkUniEncoderSpanTrainStep/ { for (i = 1; i < NF; i++) if ($(i + 1) == "ns/op") print $i / 1e9 }' \
	"$TMP/go.txt" >"$TMP/go.s"
awk '$1 == "step" && $2 >= 3 { sub(/s$/, "", $3); print $3 }' "$TMP/py.txt" >"$TMP/py.s"
sed -n 's/.*"peak_rss_mb": \([0-9.eE+-]*\).*/\1/p' "$TMP/py.txt" >"$TMP/py.mb"
[[ $(wc -l <"$TMP/go.s") -eq $((ROUNDS * GO_COUNT)) ]] || die "expected $((ROUNDS * GO_COUNT)) Go results, got: $(cat "$TMP/go.txt")"
[[ $(wc -l <"$TMP/py.s") -eq $((ROUNDS * 10)) ]] || die "expected $((ROUNDS * 10)) reference step times, got: $(cat "$TMP/py.txt")"

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
go_med=$(median "$TMP/go.s")
py_med=$(median "$TMP/py.s")
echo "UniEncoderSpan training step (DeBERTa-v2 h256 L4, batch 8x181 tokens, 25 types, max_width 12), $ROUNDS interleaved rounds:"
go_mb=$([[ -s $TMP/go.mb ]] && awk '{ printf "%.0f ", $1 / 1024 }' "$TMP/go.mb" || echo "n/a (no /usr/bin/time)")
mn() { sort -g "$1" | head -1; }
echo "  gliner-go  median $(printf '%.3f' "$go_med") s/step  min $(printf '%.3f' "$(mn "$TMP/go.s")")  ($(wc -l <"$TMP/go.s") steps)  peak RSS MB: $go_mb"
echo "  reference  median $(printf '%.3f' "$py_med") s/step  min $(printf '%.3f' "$(mn "$TMP/py.s")")  ($(wc -l <"$TMP/py.s") steps)  peak RSS MB: $(tr '\n' ' ' <"$TMP/py.mb")"
awk -v g="$go_med" -v p="$py_med" 'BEGIN { printf "  ratio gliner-go / reference = %.2f (reference / gliner-go = %.2f)\n", g / p, p / g }'
