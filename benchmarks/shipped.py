"""The shipped models on the colored-2-MNIST test split: ``evaluate`` on each checkpoint (the code
``python -m redo_lite evaluate`` runs) and, for scale, what predicting background everywhere
scores, and where each model is still wrong (``benchmarks/probes/edge_errors.py``'s counts);
written to ``benchmarks/results/shipped.json``, the source of these figures on every page.

    python3 -m data_prep.c2mnist --out data/c2mnist32      # once
    python3 benchmarks/shipped.py [--data data/c2mnist32] [--json benchmarks/results/shipped.json]

``checkpoints/c2mnist-cpu`` is ReDO alone; ``checkpoints/c2mnist-cpu-selftrained`` is the same
model with F then self-trained (beyond the paper). About a minute on one CPU thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "probes"))

from edge_errors import edge_errors  # noqa: E402

from redo_lite.data import ImageFolderData  # noqa: E402
from redo_lite.metrics import score  # noqa: E402
from redo_lite.run import evaluate_run, load_run  # noqa: E402
from redo_lite.train import predict  # noqa: E402

MODELS = {
    "c2mnist-cpu": "ReDO alone",
    "c2mnist-cpu-selftrained": "ReDO, then F self-trained on its own colour-filtered masks "
    "(beyond the paper)",
}
KEEP = ("images", "acc", "iou", "iou_split", "iou_split_regions")


def rounded(v):
    return [round(float(x), 4) for x in v] if isinstance(v, list) else round(float(v), 4)


def all_background(data: Path) -> dict:
    info = json.loads((data / "info.json").read_text())
    test = ImageFolderData(data, "test", info["size"], info["regions"], need_masks=True)
    gt = test.batch(torch.arange(len(test)))[1]
    s = score(torch.zeros_like(gt), gt, info["regions"])
    return {"acc": rounded(s["acc"]), "iou": rounded(s["iou"])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data/c2mnist32"))
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "shipped.json")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    data = a.data if a.data.is_absolute() else ROOT / a.data
    if not (data / "info.json").exists():
        print(f"error: {a.data}: no data set here (python3 -m data_prep.c2mnist --out {a.data})")
        return 1
    out = {
        "command": "python3 benchmarks/shipped.py",
        "data": "data/c2mnist32 (python3 -m data_prep.c2mnist --out data/c2mnist32)",
        "split": "test",
        "models": {},
    }
    for name, what in MODELS.items():
        run = f"checkpoints/{name}"
        s = evaluate_run(ROOT / run, data, "test")
        out["models"][name] = {
            "what": what,
            "command": f"python3 -m redo_lite evaluate --run {run} --data data/c2mnist32",
            "test": {k: (s[k] if k == "images" else rounded(s[k])) for k in KEEP},
        }
        cfg, nets = load_run(ROOT / run)
        test = ImageFolderData(data, "test", cfg.size, cfg.regions, need_masks=True)
        x, gt = test.batch(torch.arange(len(test)))
        e = edge_errors(predict(nets["F"], x), gt, cfg.regions)
        out["models"][name]["wrong_pixels"] = {
            "command": f"python3 benchmarks/probes/edge_errors.py --run {run}",
            **{k: rounded(e[k]) for k in ("wrong", "on_edge", "halo", "lost", "swapped")},
        }
        print(f"{run} ({what}): test IoU {s['iou']:.3f}, accuracy {s['acc']:.3f}", flush=True)
    out["all_background"] = all_background(data)
    print(f"all background: test IoU {out['all_background']['iou']:.3f}")
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"figures written to {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
