#!/bin/bash
# Times gliner-go's step benchmarks at two commits, interleaved in one session (the machine's load
# is noisy), and prints each benchmark's median per side and the ratio after/before:
#   bench.BenchmarkUniEncoderSpanTrainStep (DeBERTa-v2 h256 L4 UniEncoderSpan, batch 8, AdamW)
#   encoder.BenchmarkEncoderFwdBwdH256L4 and encoder.BenchmarkEncoderFwdBwdH768L2
# BEFORE is a commit (default da24932, the engine change's base), exported with git archive;
# AFTER is this working tree. Each round runs every benchmark GO_COUNT times on each side with
# -benchtime BENCHTIME (the benchmarks' first step, which builds the plan, is untimed).
#
# On a machine shared with other work, AUTOGROUP_NICE=-15 (Linux with scheduler autogroups, root for a
# negative value) runs the script in a session of its own whose scheduling group has that nice, so
# that the other sessions' processes take little of the CPUs while the benchmarks run (a process's
# own nice counts only within its session's group).
#
# usage: scripts/bench_before_after.sh [BEFORE]     (ROUNDS=3 GO_COUNT=3 BENCHTIME=3x by default)
set -euo pipefail
if [[ -n ${AUTOGROUP_NICE:-} && -z ${BENCH_BEFORE_AFTER_GROUPED:-} ]]; then
	BENCH_BEFORE_AFTER_GROUPED=1 exec setsid --wait "$0" "$@"
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=${1:-da24932}
ROUNDS=${ROUNDS:-3}
GO_COUNT=${GO_COUNT:-3}
BENCHTIME=${BENCHTIME:-3x}
export GLINER_SHARED=${GLINER_SHARED:-$ROOT/../shared}
die() {
	echo "bench_before_after: $*" >&2
	exit 1
}
if [[ -n ${AUTOGROUP_NICE:-} ]]; then
	echo "$AUTOGROUP_NICE" >/proc/self/autogroup 2>/dev/null ||
		die "cannot set the session's autogroup nice to $AUTOGROUP_NICE (needs /proc/self/autogroup; a negative value needs root)"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/before"
git -C "$ROOT" archive "$BEFORE" | tar -x -C "$TMP/before" || die "cannot export $BEFORE"
for side in before after; do
	src=$TMP/before
	[[ $side == after ]] && src=$ROOT
	(cd "$src" && go test -c -o "$TMP/$side.bench.test" ./bench && go test -c -o "$TMP/$side.encoder.test" ./models/encoder) ||
		die "building the $side benchmarks failed"
done
for ((r = 1; r <= ROUNDS; r++)); do
	for side in before after; do
		echo "== round $r/$ROUNDS: $side" >&2
		src=$TMP/before
		[[ $side == after ]] && src=$ROOT
		(cd "$src/bench" && "$TMP/$side.bench.test" -test.run '^$' -test.bench '^BenchmarkUniEncoderSpanTrainStep$' \
			-test.benchtime "$BENCHTIME" -test.count "$GO_COUNT") | sed "s/^/$side /" >>"$TMP/all.txt"
		(cd "$src/models/encoder" && "$TMP/$side.encoder.test" -test.run '^$' \
			-test.bench '^(BenchmarkEncoderFwdBwdH256L4|BenchmarkEncoderFwdBwdH768L2)$' \
			-test.benchtime "$BENCHTIME" -test.count "$GO_COUNT") | sed "s/^/$side /" >>"$TMP/all.txt"
	done
done
grep -E '^(before|after) Benchmark' "$TMP/all.txt" >&2
echo "gliner-go benchmarks, $BEFORE (before) vs $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . || echo '+changes') (after), $ROUNDS interleaved rounds x $GO_COUNT, -benchtime $BENCHTIME, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)$([[ -n ${AUTOGROUP_NICE:-} ]] && echo ", autogroup nice $AUTOGROUP_NICE"):"
awk '$2 ~ /^Benchmark/ { name = $2; sub(/-[0-9]+$/, "", name); for (i = 3; i < NF; i++) if ($(i + 1) == "ns/op") print $1, name, $i }' \
	"$TMP/all.txt" | sort -k2,2 -k1,1 -k3,3g | awk '
	function med(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	{ key = $2 SUBSEP $1; v[key, ++cnt[key]] = $3; names[$2] = 1 }
	END {
		printf "%-36s %14s %14s %8s\n", "benchmark", "before ms", "after ms", "after/before"
		for (n in names) {
			kb = n SUBSEP "before"; ka = n SUBSEP "after"
			delete b; delete a
			for (i = 1; i <= cnt[kb]; i++) b[i] = v[kb, i]
			for (i = 1; i <= cnt[ka]; i++) a[i] = v[ka, i]
			mb = med(b, cnt[kb]) / 1e6; ma = med(a, cnt[ka]) / 1e6
			printf "%-36s %14.1f %14.1f %8.3f\n", n, mb, ma, ma / mb
		}
	}'
