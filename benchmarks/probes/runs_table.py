"""Summarise run folders: settings that differ from a preset, steps, minutes, restarts, and the best
validation scores (with the digit-by-digit IoU under one permutation at that point).

    python3 benchmarks/probes/runs_table.py runs/e* [--preset c2mnist-cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository

from redo_lite.config import Config, get_preset  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--preset", default="c2mnist-cpu")
    a = ap.parse_args(argv)
    ref = get_preset(a.preset)
    print(
        f"| run | differs from {a.preset} | steps | minutes | restarts | best val IoU (step) | "
        f"one permutation | per region (one permutation) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    # a run is named by its folder, or by its parent too where two folders share a name
    # (benchmarks write runs/NAME/seed0, runs/OTHER/seed0, ...)
    names = [r.name for r in a.runs]
    for run in a.runs:
        name = run.name if names.count(run.name) == 1 else "/".join(run.parts[-2:])
        if not (run / "metrics.jsonl").exists():
            continue
        cfg = Config.load(run / "config.json")
        diff = ", ".join(
            f"{k}={v}" for k, v in cfg.to_dict().items() if ref.to_dict()[k] != v and k != "preset"
        )
        rows = [
            json.loads(line)
            for line in (run / "metrics.jsonl").read_text().splitlines()
            if line.strip()
        ]
        evals = [r for r in rows if r["kind"] == "eval"]
        if not evals:
            continue
        best = max(evals, key=lambda r: r["iou"])
        last = rows[-1]
        restarts = sum(r["kind"] == "restart" for r in rows)
        print(
            f"| {name} | {diff or '-'} | {last['total_steps']} | {last['minutes']:.1f} | "
            f"{restarts} | "
            f"{best['iou']:.3f} ({best['attempt']}:{best['step']}) | {best['iou_split']:.3f} | "
            f"{' / '.join(f'{x:.2f}' for x in best['iou_split_regions'])} |"
        )


if __name__ == "__main__":
    main()
