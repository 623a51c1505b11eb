#!/usr/bin/env bash
# The GPU check, one script, about 10 minutes on one GPU:
#   1. the paper preset's step time at batch 25: fp32, TF32, bf16 autocast and compiled, with
#      images/s and peak memory (benchmarks/step_time.py);
#   2. the paper-size networks trained on colored-2-MNIST at 128 px (the paper's toy at its own
#      size, built offline by data_prep.c2mnist) for TRAIN_MINUTES, validation IoU printed over time;
#   3. with two GPUs or more, a 2-process torchrun run of a few steps.
# Everything it prints goes to stdout and to $LOG (default runs/gpu_check/log.txt).
#
#     bash benchmarks/gpu_check.sh
#
# Shrunk for a CPU (what tests/test_gpu_check.py runs), every size can be set from the environment:
#     STEP_PRESET=c2mnist-cpu BATCH=4 STEP_MODES="fp32 amp" TRAIN_PRESET=c2mnist-cpu SIZE=32 \
#     TRAIN_MINUTES=0.2 N_TRAIN=64 bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
STEP_PRESET=${STEP_PRESET:-flowers-paper}
BATCH=${BATCH:-25}
STEP_MODES=${STEP_MODES:-fp32 tf32 amp compile}
STEPS=${STEPS:-10}
TRAIN_PRESET=${TRAIN_PRESET:-c2mnist-paper}
SIZE=${SIZE:-128}
TRAIN_MINUTES=${TRAIN_MINUTES:-4}
N_TRAIN=${N_TRAIN:-3000}
OUT=${OUT:-runs/gpu_check}
DATA=${DATA:-data/c2mnist${SIZE}}
LOG=${LOG:-$OUT/log.txt}
mkdir -p "$OUT"
exec > >(tee -a "$LOG") 2>&1

echo "== device"
python3 - <<'PY'
import torch
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB; torch {torch.__version__}")
else:
    print(f"no GPU: cpu, {torch.get_num_threads()} threads; torch {torch.__version__}")
PY

echo "== 1. step time: $STEP_PRESET at batch $BATCH ($STEP_MODES)"
# shellcheck disable=SC2086
python3 benchmarks/step_time.py --preset "$STEP_PRESET" --batch "$BATCH" --steps "$STEPS" \
  --warmup 3 --modes $STEP_MODES

echo "== 2. $TRAIN_PRESET on colored-2-MNIST at $SIZE px for $TRAIN_MINUTES minutes"
python3 -m data_prep.c2mnist --out "$DATA" --size "$SIZE" --train "$N_TRAIN" --val 300 --test 300
RUN="$OUT/train-$TRAIN_PRESET-$(date +%Y%m%d-%H%M%S)"
python3 -m redo_lite train --preset "$TRAIN_PRESET" --data "$DATA" --out "$RUN" \
  --minutes "$TRAIN_MINUTES" --set eval_every=250 ${TRAIN_SET:-}
python3 - "$RUN" <<'PY'
import json, sys
from pathlib import Path
rows = [json.loads(r) for r in (Path(sys.argv[1]) / "metrics.jsonl").read_text().splitlines()]
print("minutes  step  validation IoU (per image / one permutation)  restarts so far")
for r in rows:
    if r["kind"] == "eval":
        print(f"{r['minutes']:7.2f} {r['total_steps']:5d}  {r['iou']:.3f} / {r['iou_split']:.3f}"
              f"  {r['attempt']}")
    elif r["kind"] in ("restart", "test"):
        print(f"{r['minutes']:7.2f} {r['total_steps']:5d}  {r['kind']}: "
              f"{r.get('reason') or round(r['iou'], 3)}")
PY

GPUS=$(python3 -c "import torch; print(torch.cuda.device_count())")
if [ "$GPUS" -ge 2 ]; then
  echo "== 3. two processes (torchrun, NCCL)"
  python3 -m torch.distributed.run --standalone --nproc_per_node 2 -m redo_lite train \
    --preset "$TRAIN_PRESET" --data "$DATA" --out "$OUT/ddp" --steps 20 --set eval_every=20 \
    --set log_every=5
  grep '"train"' "$OUT/ddp/metrics.jsonl" | tail -n 2
else
  echo "== 3. two processes: skipped ($GPUS GPU)"
fi
echo "== done"
