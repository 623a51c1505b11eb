#!/usr/bin/env bash
# The GPU check: one command of at most 6 minutes on one GPU (340 s by default, TOTAL_SECONDS),
# with nothing but PyTorch's own packages (torchvision, numpy, pillow, tqdm; no MNIST loader, no
# Jupyter, no internet: tests/test_gpu_check.py checks every import against the GPU image's list,
# benchmarks/gpu_image_packages.txt):
#   1. the paper preset's step time at batch 25 in fp32, TF32, bf16 autocast and compiled, each
#      mode in its own process and its own time slot, with images/s and peak GPU memory
#      (benchmarks/step_time.py);
#   2. the paper networks (flowers-paper) at 128 px on textured-shapes (data_prep.shapes: drawn
#      here, two regions like Flowers) through train -> validation -> last.pt -> resume ->
#      test, and `evaluate --device`;
#   3. with two GPUs or more (or PROCS=N), the same preset on N processes with torchrun.
# Everything it prints goes to stdout and to $LOG (default runs/gpu_check/log.txt). A part that
# does not fit the time left is skipped and said so; a mode that overruns its slot is stopped and
# said so.
#
#     bash benchmarks/gpu_check.sh
#
# Shrunk for a CPU (what tests/test_gpu_check.py runs), every size can be set from the environment,
# e.g. STEP_PRESET=tiny BATCH=4 STEP_MODES="fp32 amp" SIZE=16 TRAIN_SET="--set size=16 ..." PROCS=2.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PY:-python3}
TOTAL_SECONDS=${TOTAL_SECONDS:-340}  # the whole check, inside one 6-minute command
STEP_PRESET=${STEP_PRESET:-flowers-paper}
BATCH=${BATCH:-25}
STEP_MODES=${STEP_MODES:-fp32 tf32 amp compile}
STEPS=${STEPS:-20}            # timed steps a mode at most ...
STEP_SECONDS=${STEP_SECONDS:-8}  # ... or fewer once this many seconds are timed
SLOT=${SLOT:-35}              # seconds for one eager mode: start, warm-up, timed steps
COMPILE_SLOT=${COMPILE_SLOT:-90}  # seconds for a compiled mode: compiling is most of it
TRAIN_PRESET=${TRAIN_PRESET:-flowers-paper}
SIZE=${SIZE:-128}
N_TRAIN=${N_TRAIN:-400}
N_EVAL=${N_EVAL:-50}          # validation and test images
FIRST_MINUTES=${FIRST_MINUTES:-0.4}  # train, then resume up to RESUMED_MINUTES in all
RESUMED_MINUTES=${RESUMED_MINUTES:-0.7}
TRAIN_SLOT=${TRAIN_SLOT:-110}  # seconds for part 2 (data, both trainings, evaluate)
TRAIN_SET=${TRAIN_SET:-}
OUT=${OUT:-runs/gpu_check}
DATA=${DATA:-data/shapes${SIZE}}
LOG=${LOG:-$OUT/log.txt}
mkdir -p "$OUT"
exec > >(tee -a "$LOG") 2>&1

left() { echo $((TOTAL_SECONDS - SECONDS)); }
fits() {  # fits SLOT NAME: is there time for a slot of SLOT seconds? (says so when not)
  if [ "$(left)" -lt "$1" ]; then
    echo "$2: skipped, $(left) s left of $TOTAL_SECONDS for a $1 s slot"
    return 1
  fi
}
slot() {  # slot SECONDS NAME COMMAND...: run COMMAND, stopped after SECONDS
  local s=$1 name=$2 rc=0
  shift 2
  timeout --kill-after=5 "$s" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "$name: stopped at the end of its $s s slot"
  elif [ "$rc" -ne 0 ]; then
    echo "$name: failed (exit $rc)"
  fi
  return 0
}

echo "== device"
GPUS=$($PY - <<'PY'
import sys
import torch
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB; torch {torch.__version__}",
              file=sys.stderr)
    print(torch.cuda.device_count())
else:
    print(f"no GPU: cpu, {torch.get_num_threads()} threads; torch {torch.__version__}",
          file=sys.stderr)
    print(0)
PY
)
DEVICE=$([ "$GPUS" -ge 1 ] && echo cuda || echo cpu)

echo "== 1. step time: $STEP_PRESET at batch $BATCH ($STEP_MODES)"
for mode in $STEP_MODES; do
  s=$([[ $mode == *compile* ]] && echo "$COMPILE_SLOT" || echo "$SLOT")
  fits "$s" "$mode" || continue
  slot "$s" "$mode" $PY benchmarks/step_time.py --preset "$STEP_PRESET" --batch "$BATCH" \
    --steps "$STEPS" --seconds "$STEP_SECONDS" --warmup 2 --modes "$mode"
done

echo "== 2. $TRAIN_PRESET at $SIZE px: train -> validation -> last.pt -> resume -> test"
if fits "$TRAIN_SLOT" "part 2"; then
  part2() {
    local run=$OUT/train-$TRAIN_PRESET
    rm -rf "$run"
    [ -f "$DATA/info.json" ] || $PY -m data_prep.shapes --out "$DATA" --size "$SIZE" \
      --train "$N_TRAIN" --val "$N_EVAL" --test "$N_EVAL"
    # shellcheck disable=SC2086
    $PY -m redo_lite train --preset "$TRAIN_PRESET" --data "$DATA" --out "$run" \
      --minutes "$FIRST_MINUTES" --set eval_every=10 --set eval_images="$N_EVAL" $TRAIN_SET
    # shellcheck disable=SC2086
    $PY -m redo_lite train --preset "$TRAIN_PRESET" --data "$DATA" --out "$run" \
      --minutes "$RESUMED_MINUTES" --set eval_every=10 --set eval_images="$N_EVAL" $TRAIN_SET
    $PY -m redo_lite evaluate --run "$run" --data "$DATA" --split test --device "$DEVICE"
    $PY - "$run" <<'PY'
import json, sys
from pathlib import Path
rows = [json.loads(r) for r in (Path(sys.argv[1]) / "metrics.jsonl").read_text().splitlines()]
print("minutes  step  validation IoU (per image / one permutation)")
for r in rows:
    if r["kind"] == "eval":
        print(f"{r['minutes']:7.2f} {r['total_steps']:5d}  {r['iou']:.3f} / {r['iou_split']:.3f}")
    elif r["kind"] in ("restart", "test"):
        what = r.get("reason") or f"IoU {r['iou']:.3f}"
        print(f"{r['minutes']:7.2f} {r['total_steps']:5d}  {r['kind']}: {what}")
steps = max(r["total_steps"] for r in rows)
if steps and rows[-1]["kind"] == "test":
    per = 60 * max(r["minutes"] for r in rows) / steps
    print(f"{steps} steps in all, {per:.2f} s a step with validation")
PY
  }
  export -f part2
  export PY OUT TRAIN_PRESET DATA SIZE N_TRAIN N_EVAL FIRST_MINUTES RESUMED_MINUTES TRAIN_SET
  export DEVICE
  slot "$TRAIN_SLOT" "part 2" bash -euo pipefail -c part2
fi

PROCS=${PROCS:-$GPUS}
if [ "$PROCS" -ge 2 ]; then
  echo "== 3. $PROCS processes (torchrun), the paper's batch of 25 split over them"
  if fits 60 "part 3"; then
    rm -rf "$OUT/ddp$PROCS"
    # shellcheck disable=SC2086
    slot $(($(left) - 5)) "part 3" $PY -m torch.distributed.run --standalone \
      --nproc_per_node "$PROCS" -m redo_lite train --preset "$TRAIN_PRESET" --data "$DATA" \
      --out "$OUT/ddp$PROCS" --steps 4 --set eval_every=4 --set log_every=1 \
      --set eval_images="$N_EVAL" $TRAIN_SET
    grep '"train"' "$OUT/ddp$PROCS/metrics.jsonl" | tail -n 2 || true
  fi
else
  echo "== 3. several processes: skipped ($GPUS GPU)"
fi
echo "== done in $SECONDS s"
