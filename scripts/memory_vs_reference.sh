#!/bin/bash
# The memory run of issue 11, in one session: gliner-go and the reference PyTorch GLiNER train the
# same UniEncoderSpan (random DeBERTa-v2 encoder, hidden 128, 2 layers, BiLSTM, max_width 12) for
# 100 steps of 8 on the same 200 CrossNER-style sentences (10-84 words, 17 types; scripts/memrun
# writes them) with the same WordPiece vocabulary, then each evaluates its model on the same 450
# dev sentences. Printed: peak RSS (GNU time's maximum resident set size for gliner-go's
# commands; ru_maxrss of the reference's process, scripts/memrun_reference.py), wall times, the
# first epoch's time against the later (steady) epochs' mean, and the set-up cost of batches of
# new shapes (scripts/memrun -setup).
#
# Needs /usr/bin/time and the reference environment (see ../shared/reference/README.md).
#
# usage: scripts/memory_vs_reference.sh [WORKDIR]      (default: a temporary folder, kept)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REFENV=${REFENV:-/tmp/refenv}
PY=${PYTHON:-/usr/bin/python3}
W=${1:-$(mktemp -d)}
die() {
	echo "memory_vs_reference: $*" >&2
	exit 1
}
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is needed"
PYTHONPATH=$REFENV "$PY" -c 'import torch, gliner' 2>/dev/null || die "no reference environment in $REFENV"
mkdir -p "$W/bin"
(cd "$ROOT" && go build -o "$W/bin/train" ./cmd/train && go build -o "$W/bin/gliner" ./cmd/gliner &&
	go build -o "$W/bin/memrun" ./scripts/memrun) || die "build failed"
"$W/bin/memrun" -out "$W" || die "writing the data failed"
rm -rf "$W/run"

echo "== gliner-go: train" >&2
/usr/bin/time -v -o "$W/go_train.time" "$W/bin/train" --recipe "$W/recipe.yaml" >"$W/go_train.log" 2>&1 ||
	die "gliner-go training failed: $(tail -5 "$W/go_train.log")"
MODEL=$W/run/final
VOCAB=$(find "$MODEL" -name vocab.txt | head -1)
[[ -f $VOCAB ]] || die "no vocab.txt under $MODEL"
echo "== gliner-go: evaluate" >&2
/usr/bin/time -v -o "$W/go_eval.time" "$W/bin/gliner" evaluate --model "$MODEL" --data "$W/dev.jsonl" \
	--batch-size 8 --buckets=true >"$W/go_eval.log" 2>&1 || die "gliner evaluate failed: $(tail -5 "$W/go_eval.log")"
/usr/bin/time -v -o "$W/go_eval_exact.time" "$W/bin/gliner" evaluate --model "$MODEL" --data "$W/dev.jsonl" \
	--batch-size 8 --buckets=false >"$W/go_eval_exact.log" 2>&1 || die "gliner evaluate --buckets=false failed"
echo "== reference: train" >&2
OMP_WAIT_POLICY=PASSIVE PYTHONPATH=$REFENV "$PY" "$ROOT/scripts/memrun_reference.py" train "$W" "$VOCAB" >"$W/ref_train.json" 2>"$W/ref_train.err" ||
	die "reference training failed: $(tail -n 5 "$W/ref_train.err")"
echo "== reference: evaluate" >&2
OMP_WAIT_POLICY=PASSIVE PYTHONPATH=$REFENV "$PY" "$ROOT/scripts/memrun_reference.py" evaluate "$W" "$VOCAB" >"$W/ref_eval.json" 2>"$W/ref_eval.err" ||
	die "reference evaluation failed: $(tail -n 5 "$W/ref_eval.err")"
echo "== gliner-go: set-up of new shapes" >&2
"$W/bin/memrun" -setup "$W" >"$W/setup.txt" || die "memrun -setup failed"

mb() { sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$1" | awk '{ printf "%.0f", $1 / 1024 }'; }
wall() { sed -n 's/.*Elapsed (wall clock) time.*: \(.*\)/\1/p' "$1"; }
json() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }
ref_train_mb=$(json "$W/ref_train.json" peak_rss_mb | awk '{printf "%.0f", $1}')
ref_eval_mb=$(json "$W/ref_eval.json" peak_rss_mb | awk '{printf "%.0f", $1}')
go_train_mb=$(mb "$W/go_train.time")
go_eval_mb=$(mb "$W/go_eval.time")
go_exact_mb=$(mb "$W/go_eval_exact.time")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "memory run in $W ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-40s %8s %12s %14s\n' "" "peak MB" "wall" "vs reference"
printf '%-40s %8s %12s %14s\n' "gliner-go train (100 steps)" "$go_train_mb" "$(wall "$W/go_train.time")" "$(ratio "$go_train_mb" "$ref_train_mb")x"
printf '%-40s %8s %12s\n' "reference train (100 steps)" "$ref_train_mb" "$(json "$W/ref_train.json" seconds | awk '{printf "%.1fs", $1}')"
printf '%-40s %8s %12s %14s\n' "gliner evaluate (450, shape buckets)" "$go_eval_mb" "$(wall "$W/go_eval.time")" "$(ratio "$go_eval_mb" "$ref_eval_mb")x"
printf '%-40s %8s %12s %14s\n' "gliner evaluate (450, exact shapes)" "$go_exact_mb" "$(wall "$W/go_eval_exact.time")" "$(ratio "$go_exact_mb" "$ref_eval_mb")x"
printf '%-40s %8s %12s\n' "reference evaluate (450)" "$ref_eval_mb" "$(json "$W/ref_eval.json" seconds | awk '{printf "%.1fs", $1}')"

# Epoch times: gliner-go from metrics.jsonl (elapsed at each epoch's last step), the reference's
# from its epoch_s list; 25 steps an epoch, the first includes building every new shape's plan.
awk -F'"epoch":' '/"type":"step"/ { split($2, a, ","); e = a[1]; match($0, /"elapsed_s":[0-9.e+-]+/);
	last[e] = substr($0, RSTART + 12, RLENGTH - 12) + 0; if (e > n) n = e }
	END { prev = 0; for (i = 0; i <= n; i++) { printf "%.1f ", last[i] - prev; prev = last[i] } print "" }' \
	"$W/run/metrics.jsonl" >"$W/go_epochs.txt"
sed -n 's/.*"epoch_s": \[\([^]]*\)\].*/\1/p' "$W/ref_train.json" | tr -d ',' >"$W/ref_epochs.txt"
epochs() { awk '{ s = 0; for (i = 2; i <= NF; i++) s += $i; printf "first %.1fs, steady (mean of epochs 2-%d) %.1fs, first/steady %.2f (all: %s)", $1, NF, s / (NF - 1), $1 / (s / (NF - 1)), $0 }' "$1"; }
echo "gliner-go epochs: $(epochs "$W/go_epochs.txt")"
echo "reference epochs: $(epochs "$W/ref_epochs.txt")"
cat "$W/setup.txt"
