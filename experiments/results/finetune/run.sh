#!/usr/bin/env bash
# The fine-tuning experiment (experiments/results/finetune/README.md). Resumable: a finished run (summary.json)
# is skipped, an interrupted one is continued with --resume. Usage, from the repository root:
#   nice experiments/results/finetune/run.sh [phase...]      phases: pretrain finetune tasks score report (default: all, in order)
#   FT_TIER=d128 nice experiments/results/finetune/run.sh      the larger tier: configs-d128/, report in d128/
# Run folders go to $FT_RUNS (default runs/finetune[-TIER]); only the report (results.*, plots/) is committed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$ROOT/experiments/results/finetune"
TIER="${FT_TIER:-}"   # empty: the first tier (configs/); d128: configs-d128/
SUFFIX="${TIER:+-$TIER}"
RUNS="${FT_RUNS:-$ROOT/runs/finetune$SUFFIX}"
DAGMOE="${DAGMOE:-$ROOT/dagmoe}"
SEEDS="${FT_SEEDS:-1 2 3}"
CFG="$HERE/configs$SUFFIX"
OUT="$HERE${TIER:+/$TIER}"
LOG="$RUNS/times.tsv"
mkdir -p "$RUNS"
cd "$ROOT"

stamp() { date -u +%H:%M:%S; }

# run NAME DIR COMMAND...: skip when DIR/summary.json exists; --resume when DIR holds an unfinished run
run() {
  local name="$1" dir="$2"; shift 2
  if [ -f "$dir/summary.json" ]; then return 0; fi
  local extra=()
  [ -f "$dir/config.json" ] && extra=(--resume)
  echo "$(stamp) $name -> $dir" >&2
  local t0=$SECONDS
  "$DAGMOE" "$@" --out "$dir" "${extra[@]}" > "$dir.log" 2>&1 || { echo "$(stamp) FAILED $name (see $dir.log)" >&2; return 1; }
  printf '%s\t%s\t%d\n' "$name" "$dir" $((SECONDS - t0)) >> "$LOG"
}

pretrain() {
  for s in $SEEDS; do
    for agg in sum shared dag; do
      mkdir -p "$RUNS/pretrain/$agg"
      run "pretrain $agg s$s" "$RUNS/pretrain/$agg/s$s" train --config "$CFG/pretrain.json" \
        --set model.aggregator=$agg --set train.seed=$s
    done
  done
}

# fine-tune every pre-trained run on the second corpus and on the reasoning task (same aggregator), and upcycle sum
# to dag on both (against sum fine-tuned for the same tokens: the ft-moby/ft-hops sum runs)
finetune() {
  for s in $SEEDS; do
    for agg in sum shared dag; do
      for t in moby hops; do
        mkdir -p "$RUNS/ft-$t/$agg"
        run "ft-$t $agg s$s" "$RUNS/ft-$t/$agg/s$s" finetune --from "$RUNS/pretrain/$agg/s$s" \
          --config "$CFG/finetune-$t.json" --set model.aggregator=$agg --set train.seed=$s
      done
    done
    for t in moby hops; do
      mkdir -p "$RUNS/ft-$t/sum-to-dag"
      run "ft-$t sum-to-dag s$s" "$RUNS/ft-$t/sum-to-dag/s$s" finetune --from "$RUNS/pretrain/sum/s$s" \
        --config "$CFG/finetune-$t.json" --set model.aggregator=dag --set train.seed=$s
    done
  done
}

# downstream task files from the pre-training corpus (the same max_bytes, hence the same validation chunks) and
# from the fine-tuning corpus; test = text none of the runs trained on
tasks() {
  mkdir -p "$RUNS/tasks"
  [ -f "$RUNS/tasks/kjv/tasks.json" ] || "$DAGMOE" tasks make --corpus ../shared/data/kjv.txt --max-bytes 2000000 \
    --out "$RUNS/tasks/kjv" --seed 1 --examples 300
  [ -f "$RUNS/tasks/moby/tasks.json" ] || "$DAGMOE" tasks make --corpus ../shared/data/moby-dick.txt \
    --out "$RUNS/tasks/moby" --seed 1 --examples 300
}

# score the pre-trained and the Moby-Dick fine-tuned runs on the four test files (downstream.jsonl per run)
score() {
  local t="$RUNS/tasks"
  for dir in "$RUNS"/pretrain/*/s* "$RUNS"/ft-moby/*/s*; do
    [ -d "$dir" ] || continue
    [ -f "$dir/downstream.jsonl" ] && continue
    echo "$(stamp) score $dir" >&2
    local t0=$SECONDS
    "$DAGMOE" eval --run "$dir" --json --task "$t/kjv/choice-test.jsonl" --task "$t/kjv/cloze-test.jsonl" \
      --task "$t/moby/choice-test.jsonl" --task "$t/moby/cloze-test.jsonl" > "$dir/downstream.jsonl.tmp"
    mv "$dir/downstream.jsonl.tmp" "$dir/downstream.jsonl"
    printf '%s\t%s\t%d\n' "score" "$dir" $((SECONDS - t0)) >> "$LOG"
  done
}

report() {
  mkdir -p "$OUT"
  /usr/bin/python3 "$HERE/report.py" "$RUNS" "$OUT"
}

phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(pretrain finetune tasks score report)
for p in "${phases[@]}"; do "$p"; done
