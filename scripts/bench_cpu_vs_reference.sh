#!/bin/bash
# CPU training speed of gliner-go against the reference (PyTorch) at a real model size, in one run:
#  1. the machine's sgemm roofline at the encoder's dense GEMM shapes, through gliner-go's own path
#     (bench/roofline: kern.Sgemm, OpenBLAS; once with C's rows split across goroutines, once with
#     OpenBLAS's own threads) and through torch.matmul; per shape the best of all three counts;
#  2. (a) encoder forward+backward (bench.BenchmarkCPUEncoderFwdBwd against
#     scripts/bench_cpu_reference.py encoder) and (b) a whole UniEncoderSpan training step
#     (bench.BenchmarkCPUTrainStep against bench_cpu_reference.py step: zero grads, forward,
#     backward, AdamW), each side in its own process, interleaved for ROUNDS rounds (the order of the
#     two sides alternates per round);
#  3. prints each side's median seconds, the ratio, the FLOPs per step, the fraction of the roofline
#     each side reaches and each side's peak RSS; also each side's median CPU time per step (all
#     threads) and its ratio, which a machine shared with other work disturbs less than wall time.
# Default size: DeBERTa-v3-small (hidden 768, 6 layers, 12 heads, FFN 3072, vocabulary 128100),
# batch 8 x 384 tokens, 25 entity types, max_width 12, dropout 0.1 in the encoder (0.4 in GLiNER's
# head), 2 threads on both sides.
#
# FLOPs are those of the matrix products (2·m·n·k each; forward, plus twice that for the input and
# weight gradients), counted from the shapes as the reference computes them: per layer the Q, K, V
# and output projections, the FFN, QKᵀ, attention·V, c2p and p2c against the 2·256 relative
# positions and the projections of the relative embeddings; for (b) also the BiLSTM, markerV0
# (project_start, project_end, out_project on every span), the prompt projection and the scorer.
# gliner-go applies out_project's first layer to the words before gathering the spans (the same
# maths, fewer products); its own count is printed too, and its roofline fraction uses its own count.
#
# --baseline REV adds a third side: gliner-go as of git revision REV (extracted with git archive and
# built in a temporary folder), run in the same rounds, with the ratio of this tree to it.
#
# Needs the reference environment built by $SHARED/reference/setup_refenv.sh.
#
# usage: scripts/bench_cpu_vs_reference.sh [--rounds 3] [--warmup 1] [--steps 1] [--cases ab] [--baseline REV]
#          [--hidden 768] [--layers 6] [--heads 12] [--ffn 3072] [--vocab 128100] [--batch 8]
#          [--seq 384] [--types 25] [--max-width 12] [--threads 2] [--roofline-reps 3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${GLINER_SHARED:-$ROOT/../shared}
REFENV=${REFENV:-/tmp/refenv}
PY=${PYTHON:-/usr/bin/python3}
ROUNDS=3 WARMUP=1 STEPS=1 CASES=ab
HIDDEN=768 LAYERS=6 HEADS=12 FFN=3072 VOCAB=128100 BATCH=8 SEQ=384 TYPES=25 MAXW=12
THREADS=2 RREPS=3 BASELINE=

die() {
	echo "bench_cpu_vs_reference: $*" >&2
	exit 1
}
while [[ $# -gt 0 ]]; do
	[[ $# -ge 2 ]] || die "flag $1 needs a value"
	case $1 in
	--rounds) ROUNDS=$2 ;;
	--warmup) WARMUP=$2 ;;
	--steps) STEPS=$2 ;;
	--cases) CASES=$2 ;;
	--hidden) HIDDEN=$2 ;;
	--layers) LAYERS=$2 ;;
	--heads) HEADS=$2 ;;
	--ffn) FFN=$2 ;;
	--vocab) VOCAB=$2 ;;
	--batch) BATCH=$2 ;;
	--seq) SEQ=$2 ;;
	--types) TYPES=$2 ;;
	--max-width) MAXW=$2 ;;
	--threads) THREADS=$2 ;;
	--roofline-reps) RREPS=$2 ;;
	--baseline) BASELINE=$2 ;;
	*) die "unknown flag $1 (see the usage at the top of $0)" ;;
	esac
	shift 2
done
for v in ROUNDS WARMUP STEPS HIDDEN LAYERS HEADS FFN VOCAB BATCH SEQ TYPES MAXW THREADS RREPS; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v=${!v} is not a count"
done
[[ $CASES =~ ^[ab]+$ ]] || die "--cases $CASES: give a, b or ab"
[[ -d $REFENV/gliner && -d $REFENV/transformers ]] ||
	die "no reference environment in $REFENV: build it with $SHARED/reference/setup_refenv.sh, or set REFENV"
[[ -f $SHARED/reference/refshim.py ]] || die "$SHARED/reference/refshim.py not found (set GLINER_SHARED to the shared folder)"
PYTHONPATH=$REFENV "$PY" -c 'import torch, gliner' 2>/dev/null ||
	die "$PY cannot import torch and gliner with PYTHONPATH=$REFENV"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$ROOT" && go test -c -o "$TMP/bench.test" ./bench && go build -o "$TMP/roofline" ./bench/roofline) ||
	die "building the Go benchmark failed"
SIDES="go py"
if [[ -n $BASELINE ]]; then
	mkdir "$TMP/base"
	git -C "$ROOT" archive "$BASELINE" | tar -x -C "$TMP/base" || die "cannot extract revision $BASELINE"
	(cd "$TMP/base" && go test -c -o "$TMP/base.test" ./bench) || die "building the baseline's Go benchmark failed"
	SIDES="go py base"
fi

export OMP_WAIT_POLICY=PASSIVE GOMAXPROCS=$THREADS
SIZE=(--hidden "$HIDDEN" --layers "$LAYERS" --heads "$HEADS" --ffn "$FFN" --vocab "$VOCAB" --batch "$BATCH"
	--seq "$SEQ" --types "$TYPES" --max-width "$MAXW" --threads "$THREADS" --shared "$SHARED")
GOENV=(GLINER_BENCH_CPU=1 GLINER_BENCH_HIDDEN="$HIDDEN" GLINER_BENCH_LAYERS="$LAYERS" GLINER_BENCH_HEADS="$HEADS"
	GLINER_BENCH_FFN="$FFN" GLINER_BENCH_VOCAB="$VOCAB" GLINER_BENCH_BATCH="$BATCH" GLINER_BENCH_SEQ="$SEQ"
	GLINER_BENCH_TYPES="$TYPES" GLINER_BENCH_MAXWIDTH="$MAXW" GLINER_BENCH_WARMUP="$WARMUP" GLINER_BENCH_STEPS="$STEPS")
N=$((BATCH * SEQ))

# 1. Roofline.
echo "== sgemm roofline (N=$N, H=$HIDDEN, F=$FFN, best of $RREPS)" >&2
"$TMP/roofline" -tokens "$N" -hidden "$HIDDEN" -ffn "$FFN" -reps "$RREPS" -blas-threads 1 >"$TMP/roof.split"
"$TMP/roofline" -tokens "$N" -hidden "$HIDDEN" -ffn "$FFN" -reps "$RREPS" -blas-threads "$THREADS" >"$TMP/roof.blas"
PYTHONPATH=$REFENV "$PY" "$ROOT/scripts/bench_cpu_reference.py" matmul "${SIZE[@]}" --steps "$RREPS" 2>/dev/null |
	grep '^gemm' >"$TMP/roof.torch"
paste "$TMP/roof.split" "$TMP/roof.blas" "$TMP/roof.torch" | awk '
	# Lines 1-3 are the H->H products (a layer has four such: Q, K, V, output), 4-6 H->F, 7-9 F->H.
	{ g1 = $8; g2 = $16; t = $24; best = g1; if (g2 > best) best = g2; if (t > best) best = t
	  w = $3 * $4 * $5 * (NR <= 3 ? 4 : 1)
	  printf "  %-4s %5d x %5d x %5d   %8.1f %8.1f %8.1f %8.1f\n", $2, $3, $4, $5, g1, g2, t, best
	  W += w; T += w / best; T1 += w / g1; T2 += w / g2; T3 += w / t }
	END { printf "roofline %.2f %.2f %.2f %.2f\n", W / T, W / T1, W / T2, W / T3 }' >"$TMP/roof.txt"
ROOF=$(awk '$1 == "roofline" { print $2 }' "$TMP/roof.txt")

# 2. Interleaved rounds; one process per side, case and round.
run_go() { # case
	local b=BenchmarkCPUEncoderFwdBwd
	[[ $1 == b ]] && b=BenchmarkCPUTrainStep
	(cd "$ROOT/bench" && env "${GOENV[@]}" "$TMP/bench.test" -test.run '^$' -test.bench "^$b\$" -test.benchtime 1x) 2>&1
}
run_base() { # case
	local b=BenchmarkCPUEncoderFwdBwd
	[[ $1 == b ]] && b=BenchmarkCPUTrainStep
	(cd "$TMP/base/bench" && env "${GOENV[@]}" "$TMP/base.test" -test.run '^$' -test.bench "^$b\$" -test.benchtime 1x) 2>&1
}
run_py() { # case
	local m=encoder
	[[ $1 == b ]] && m=step
	PYTHONPATH=$REFENV "$PY" "$ROOT/scripts/bench_cpu_reference.py" "$m" "${SIZE[@]}" --warmup "$WARMUP" --steps "$STEPS" 2>/dev/null
}
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $(echo "$CASES" | grep -o .); do
		order=$SIDES
		((r % 2 == 0)) && order=$(echo "$SIDES" | tr ' ' '\n' | tac | tr '\n' ' ')
		for side in $order; do
			echo "== round $r/$ROUNDS case ($c): $side" >&2
			"run_$side" "$c" | tee "$TMP/$side.$c.$r.txt" >&2 || die "$side ($c) failed in round $r"
			awk '$1 == "step" && NF == 3 { print $3 }' "$TMP/$side.$c.$r.txt" >>"$TMP/$side.$c.s"
			awk '$1 == "cpu" && NF == 3 { print $3 }' "$TMP/$side.$c.$r.txt" >>"$TMP/$side.$c.cpu"
			if [[ $side != py ]]; then
				awk '$1 == "peak_rss_mb" { print $2 }' "$TMP/$side.$c.$r.txt" >>"$TMP/$side.$c.mb"
			else
				sed -n 's/.*"peak_rss_mb": \([0-9.eE+-]*\).*/\1/p' "$TMP/$side.$c.$r.txt" >>"$TMP/$side.$c.mb"
			fi
			[[ $(wc -l <"$TMP/$side.$c.s") -eq $((r * STEPS)) ]] || die "$side ($c) round $r: no step times in its output"
		done
	done
done

# 3. Report.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Forward matmul FLOPs; the step is three times that.
flops() { # what: enc | head_ref | head_go
	awk -v what="$1" -v B="$BATCH" -v T="$SEQ" -v H="$HIDDEN" -v F="$FFN" -v L="$LAYERS" -v C="$TYPES" -v K="$MAXW" 'BEGIN {
		N = B * T; P = 2 * 256
		if (what == "enc") { print L * (2 * N * (4 * H * H + 2 * H * F) + 2 * 2 * B * T * T * H + 2 * 2 * B * T * P * H + 2 * 2 * P * H * H); exit }
		text = T - 2 - 2 * C - 1; Wn = text / 1.28; Wn = (Wn - int(Wn) == 0.5) ? (int(Wn) % 2 ? int(Wn) + 1 : int(Wn)) : int(Wn + 0.5)
		BW = B * Wn; S = BW * K; h = H / 2
		lstm = 2 * 2 * BW * 4 * h * (H + h)
		ends = 2 * 2 * BW * (H * 4 * H + 4 * H * H)
		prompt = 2 * B * C * (H * 4 * H + 4 * H * H)
		scorer = 2 * S * C * H
		if (what == "head_ref") out = 2 * S * (2 * H * 4 * H + 4 * H * H)
		else out = 2 * 2 * BW * H * 4 * H + 2 * S * 4 * H * H
		print lstm + ends + prompt + scorer + out }'
}
ENC=$(flops enc)
HREF=$(flops head_ref)
HGO=$(flops head_go)
mn() { sort -g "$1" | head -1; }
{
	echo "CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores; $THREADS threads each side; $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "sgemm roofline at the encoder's dense shapes, GFLOP/s (best of $RREPS; m x k x n):"
	echo "  shape                     go-split  go-blas$THREADS    torch     best"
	grep -v '^roofline' "$TMP/roof.txt"
	awk '$1 == "roofline" { printf "  FLOP-weighted over a layer'"'"'s dense products: roofline %.1f GFLOP/s (go-split %.1f, go-blas %.1f, torch %.1f)\n", $2, $3, $4, $5 }' "$TMP/roof.txt"
	for c in $(echo "$CASES" | grep -o .); do
		if [[ $c == a ]]; then
			fr=$(awk -v e="$ENC" 'BEGIN { print 3 * e }')
			fg=$fr
			echo "(a) encoder forward+backward, DeBERTa-v2 H=$HIDDEN L=$LAYERS heads=$HEADS FFN=$FFN vocab=$VOCAB, batch ${BATCH}x$SEQ, dropout 0.1:"
		else
			fr=$(awk -v e="$ENC" -v h="$HREF" 'BEGIN { print 3 * (e + h) }')
			fg=$(awk -v e="$ENC" -v h="$HGO" 'BEGIN { print 3 * (e + h) }')
			echo "(b) UniEncoderSpan training step (AdamW), same encoder, ${BATCH}x$SEQ tokens, $TYPES types, max_width $MAXW:"
		fi
		gm=$(median "$TMP/go.$c.s")
		pm=$(median "$TMP/py.$c.s")
		awk -v fr="$fr" -v fg="$fg" 'BEGIN { printf "  FLOPs per step: %.1f GFLOP as the reference computes them; %.1f GFLOP as gliner-go does\n", fr / 1e9, fg / 1e9 }'
		awk -v m="$gm" -v mi="$(mn "$TMP/go.$c.s")" -v n="$(wc -l <"$TMP/go.$c.s")" -v f="$fg" -v R="$ROOF" -v rss="$(sort -g "$TMP/go.$c.mb" | tail -1)" 'BEGIN {
			printf "  gliner-go  median %7.2f s/step  min %7.2f  (%d steps)  %6.1f GFLOP/s = %3.0f%% of roofline  peak RSS %6.0f MB\n", m, mi, n, f / m / 1e9, 100 * f / m / 1e9 / R, rss }'
		awk -v m="$pm" -v mi="$(mn "$TMP/py.$c.s")" -v n="$(wc -l <"$TMP/py.$c.s")" -v f="$fr" -v R="$ROOF" -v rss="$(sort -g "$TMP/py.$c.mb" | tail -1)" 'BEGIN {
			printf "  reference  median %7.2f s/step  min %7.2f  (%d steps)  %6.1f GFLOP/s = %3.0f%% of roofline  peak RSS %6.0f MB\n", m, mi, n, f / m / 1e9, 100 * f / m / 1e9 / R, rss }'
		gc=$(median "$TMP/go.$c.cpu")
		pc=$(median "$TMP/py.$c.cpu")
		awk -v g="$gm" -v p="$pm" -v gc="$gc" -v pc="$pc" 'BEGIN {
			printf "  ratio gliner-go / reference = %.2f (wall); CPU time per step (all threads) %.2f s / %.2f s = %.2f\n", g / p, gc, pc, gc / pc }'
		if [[ -n $BASELINE ]]; then
			bm=$(median "$TMP/base.$c.s")
			bc=$(median "$TMP/base.$c.cpu")
			awk -v m="$bm" -v mi="$(mn "$TMP/base.$c.s")" -v n="$(wc -l <"$TMP/base.$c.s")" -v rss="$(sort -g "$TMP/base.$c.mb" | tail -1)" -v rev="$BASELINE" 'BEGIN {
				printf "  baseline   median %7.2f s/step  min %7.2f  (%d steps)  (gliner-go at %s)  peak RSS %6.0f MB\n", m, mi, n, rev, rss }'
			awk -v g="$gm" -v b="$bm" -v gc="$gc" -v bc="$bc" 'BEGIN {
				if (bc > 0) printf "  ratio gliner-go / baseline = %.2f (wall); CPU time per step %.2f s / %.2f s = %.2f\n", g / b, gc, bc, gc / bc
				else printf "  ratio gliner-go / baseline = %.2f (wall); the baseline prints no CPU times\n", g / b }'
		fi
	done
} | tee "$TMP/report.txt"
