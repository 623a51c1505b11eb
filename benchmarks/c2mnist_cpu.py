"""Train c2mnist-cpu from scratch under a time budget and print IoU / accuracy against minutes of
training, the test score of the selected model, and the step time.

    python benchmarks/c2mnist_cpu.py --minutes 30 --seeds 0 1 2 [--jobs 2] [--threads 1]

Seeds run as separate processes (``--jobs`` at a time, ``--threads`` torch threads each), so
``--jobs 2 --threads 1`` uses the two cores of the CI machine. Restarts count inside the budget.
Every figure is read from the runs' own logs and a final ``evaluate`` on the test split; with
``f_ema`` the curve shows the averaged F and the live one, and the better of the two on validation
is the one selected. The last lines print what an all-background prediction scores (the floor)
and how many seeds reached the target.
``--no-train`` only reports runs already under ``--runs`` (``seedN`` folders), e.g. a longer run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train_seed(a, seed: int) -> dict:
    run = Path(a.runs) / f"seed{seed}"
    cmd = [
        sys.executable,
        "-m",
        "redo_lite",
        "train",
        "--preset",
        a.preset,
        "--data",
        a.data,
        "--out",
        str(run),
        "--minutes",
        str(a.minutes),
        "--seed",
        str(seed),
        "--threads",
        str(a.threads),
    ]
    cmd += [f"--set={kv}" for kv in a.set or []]
    if not a.no_train:
        subprocess.run(cmd, cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    test = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "redo_lite",
                "evaluate",
                "--run",
                str(run),
                "--data",
                a.data,
                "--split",
                "test",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    from redo_lite.checkpoint import load

    best = load(run / "best.pt")
    test["selected"] = f"step {best['step']}, {best.get('F_source', 'live')} F"
    return {"seed": seed, "run": str(run), "rows": rows, "test": test}


def all_background(data: str) -> dict:
    """What predicting background everywhere scores on the test split: the floor to beat."""
    import torch

    from redo_lite.data import ImageFolderData
    from redo_lite.metrics import score

    info = json.loads((ROOT / data / "info.json").read_text())
    test = ImageFolderData(ROOT / data, "test", info["size"], info["regions"], need_masks=True)
    gt = test.batch(torch.arange(len(test)))[1]
    return score(torch.zeros_like(gt), gt, info["regions"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--preset", default="c2mnist-cpu")
    ap.add_argument("--data", default="data/c2mnist32")
    ap.add_argument("--runs", default="runs/bench")
    ap.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="preset overrides, passed to train"
    )
    ap.add_argument(
        "--target", type=float, default=0.80, help="digit IoU target (per-image permutation)"
    )
    ap.add_argument(
        "--no-train", action="store_true", help="report the runs already there, train nothing"
    )
    a = ap.parse_args(argv)
    if not (ROOT / a.data / "info.json").exists():
        subprocess.run(
            [sys.executable, "-m", "data_prep.c2mnist", "--out", a.data], cwd=ROOT, check=True
        )
    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(lambda s: train_seed(a, s), a.seeds))
    reached = 0
    for r in results:
        print(f"\n== seed {r['seed']}  ({r['run']})")
        ema = any(
            "iou_live" in row for row in r["rows"]
        )  # f_ema: IoU of the averaged F, and the live one
        print(
            f"{'minutes':>8} {'attempt':>7} {'step':>6} {'val IoU':>8} {'IoU 1perm':>9} {'val acc':>8}  "
            f"{'live F  ' if ema else ''}areas"
        )
        first_hit = None
        for row in r["rows"]:
            if row["kind"] == "eval":
                live = f"{row['iou_live']:6.3f}  " if ema else ""
                print(
                    f"{row['minutes']:8.2f} {row['attempt']:7d} {row['step']:6d} {row['iou']:8.3f} "
                    f"{row['iou_split']:9.3f} {row['acc']:8.3f}  {live}{' '.join(f'{x:.3f}' for x in row['areas'])}"
                )
                if first_hit is None and max(row["iou"], row.get("iou_live", 0)) >= a.target:
                    first_hit = row["minutes"]
            elif row["kind"].startswith("restart"):
                print(f"{row['minutes']:8.2f} {row['kind']}: {row.get('reason', '')}")
        train_rows = [x for x in r["rows"] if x["kind"] == "train"]
        steps = sum(1 for _ in train_rows) * (
            train_rows[1]["total_steps"] - train_rows[0]["total_steps"]
            if len(train_rows) > 1
            else 1
        )
        last = r["rows"][-1]
        ms = 60000 * last["minutes"] / max(1, last["total_steps"])
        t = r["test"]
        reached += first_hit is not None and first_hit <= a.minutes and t["iou"] >= a.target
        print(
            f"test (best val model: {t['selected']}): acc {t['acc']:.3f}  IoU {t['iou']:.3f}  IoU one permutation "
            f"{t['iou_split']:.3f}  per digit {[round(x, 3) for x in t['iou_split_regions'][1:]]}"
        )
        print(
            f"steps {last['total_steps']} in {last['minutes']:.1f} min (restarts included): {ms:.0f} ms/step "
            f"incl. evaluation; val IoU >= {a.target} first at "
            f"{'%.1f min' % first_hit if first_hit is not None else 'never'}"
        )
    floor = all_background(a.data)
    print(
        f"\nall-background prediction on the test split: acc {floor['acc']:.3f}, digit IoU {floor['iou']:.3f}"
    )
    print(
        f"seeds reaching test IoU >= {a.target} within {a.minutes} min: {reached} of {len(results)}"
    )


if __name__ == "__main__":
    main()
