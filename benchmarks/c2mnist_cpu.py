"""Train c2mnist-cpu from scratch on several seeds and report, for each, the validation curve and
the test score of the model selected within the first ``--at-steps`` steps and within all
``--steps`` (or, timed, within ``--at`` and ``--minutes`` minutes), then one summary line per
target.

    python benchmarks/c2mnist_cpu.py --steps 1600 --at-steps 800 --seeds 0 1 2 3 4 --threads 1

By steps (``--steps``): each seed trains ReDO alone (the preset's self-training is a separate
phase, not run here) for ``--steps`` steps counted over every attempt (the steps of a collapsed
attempt that restarted count too); ``--minutes`` then only caps the wall time. After every
evaluation that ends within ``--at-steps`` steps the run's ``best.pt`` is copied to
``RUN/at<N>steps/``: the model selected with what existed by then. Each seed is reported by steps
and by the minutes those steps took on this machine. The step counts are the measure that does
not depend on the machine; the minutes say what they cost here.

By minutes (no ``--steps``; the earlier form):

Each seed trains in its own process (``--jobs`` at a time, ``--threads`` torch threads each), with
the same ``Trainer`` as ``python -m redo_lite train``; restarts and evaluations count inside the
budget. A seed trains as a learner who gives notebook 08 ``--at`` minutes and then raises the
budget to ``--minutes`` would: a run of ``--at`` minutes (which ends with the preset's
self-training, inside those minutes), resumed to ``--minutes`` (which ends with it again). After
every evaluation that ends within ``--at`` minutes the run's ``best.pt`` is copied to
``RUN/at<M>min/``, so the early model is the one selected with what existed by then. Both are
then scored on the test split (``evaluate``: digit IoU, each image's best permutation). With
``f_ema`` the curve shows the averaged F and the live one; the better of the two on validation is
selected. The last lines print what an all-background prediction scores (the floor) and, per
target, how many seeds reached it. ``--no-train`` only reports runs already under ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def early_dir(run: Path, a) -> Path:
    return run / (f"at{a.at_steps}steps" if a.steps else f"at{a.at:g}min")


def within_early(t, a) -> bool:
    """Whether trainer ``t`` stands within the early budget (``--at-steps`` or ``--at``); by
    steps, the self-training steps that follow ReDO count inside it."""
    return t.total_steps <= a.at_steps - a.self_train_steps if a.steps else t.elapsed <= a.at * 60


def self_train_after(run: Path, a, passes: int) -> None:
    """The phase after ReDO, counted in the budget: the F ``run`` selected, self-trained for
    ``--self-train-steps`` steps on labels filtered ``passes`` times (the preset's
    ``self_train_passes``) into ``run/selftrained`` (beyond the paper)."""
    from beyond.selftrain import self_train_phase

    if (run / "best.pt").exists():  # done once; one cut short starts over (as in `train`)
        self_train_phase(run, ROOT / a.data, a.self_train_steps, None, seed=a.worker, passes=passes)


def kept(run: Path) -> Path:
    """The model a run keeps: its self-trained F where that phase ran and beat ReDO's on
    validation (as ``train`` keeps it), else ReDO's."""
    from beyond.selftrain import PHASE_FOLDER, SELF_TRAIN_RECORD, beats_redo

    record = run / PHASE_FOLDER / SELF_TRAIN_RECORD
    if record.is_file() and beats_redo(json.loads(record.read_text())):
        return run / PHASE_FOLDER
    return run


def train_worker(a) -> None:
    """One seed, in this process: a Trainer as the CLI builds it, plus the early snapshot."""
    import torch

    from redo_lite.config import Config, get_preset
    from redo_lite.train import Trainer

    torch.set_num_threads(a.threads)
    run = Path(a.runs) / f"seed{a.worker}"
    preset = Config.load(a.preset) if a.preset.endswith(".json") else get_preset(a.preset)
    # by steps: ReDO, then (--self-train-steps) the self-training phase run here, its steps
    # counted in the budget; the preset's own phase (a `train` matter) is not run by fit
    cfg = preset.override([*(["self_train_steps=0"] if a.steps else []), *(a.set or [])])
    trainer = Trainer(cfg, a.data, run, seed=a.worker, progress=False, amp=a.amp)
    early = early_dir(run, a)

    def snapshot(t):  # after every evaluation: keep best.pt as it stands while within --at
        if within_early(t, a) and (run / "best.pt").exists():
            early.mkdir(exist_ok=True)
            shutil.copyfile(run / "config.json", early / "config.json")
            shutil.copyfile(run / "best.pt", early / "best.tmp")
            (early / "best.tmp").replace(early / "best.pt")
        if a.steps and t.total_steps >= a.steps - a.self_train_steps:
            return True  # --steps counts every attempt's steps (fit's own count restarts at 0)
        # --stop-at: the run has shown what it was to show once its selected validation IoU
        # passes the mark and the early snapshot is final (True ends the fit)
        return a.stop_at is not None and not within_early(t, a) and t.best >= a.stop_at

    if a.steps:
        trainer.fit(steps=a.steps - a.self_train_steps, minutes=a.minutes, callback=snapshot)
        if a.self_train_steps:
            for d in (early, run):
                self_train_after(d, a, cfg.self_train_passes)
        return
    if 0 < a.at < a.minutes:  # the --at run, then the same run resumed to --minutes
        trainer.fit(minutes=a.at, callback=snapshot)
    trainer.fit(minutes=a.minutes, callback=snapshot)


def test_score(run: Path, data: str) -> dict:
    from redo_lite.checkpoint import load
    from redo_lite.run import evaluate_run

    out = evaluate_run(run, ROOT / data, "test")
    best = load(run / "best.pt")
    source = best.get("F_source", "live")  # "live", "averaged" or "self-trained (live F of X)"
    source = re.sub(r" of [^)]*\)$", ")", source)  # which F, not where it lay on this machine
    out["selected"] = f"step {best['step']} of attempt {best['attempt']}, " + (
        source if source.startswith("self-trained") else f"{source} F"
    )
    return out


def train_seed(a, seed: int) -> dict:
    run = Path(a.runs) / f"seed{seed}"
    if not a.no_train:
        cmd = [sys.executable, __file__, "--worker", str(seed), "--at", str(a.at)]
        cmd += [*(["--minutes", str(a.minutes)] if a.minutes is not None else [])]
        cmd += [*(["--steps", str(a.steps), "--at-steps", str(a.at_steps)] if a.steps else [])]
        cmd += ["--self-train-steps", str(a.self_train_steps)]
        cmd += ["--preset", a.preset, "--data", a.data, "--runs", a.runs]
        cmd += ["--threads", str(a.threads), *(["--amp"] if a.amp else [])]
        cmd += ["--stop-at", str(a.stop_at)] if a.stop_at is not None else []
        cmd += [f"--set={kv}" for kv in a.set or []]
        subprocess.run(cmd, cwd=ROOT, check=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    early = early_dir(run, a)
    has_early = (early / "best.pt").exists()
    out = {
        "seed": seed,
        "run": str(run),
        "rows": rows,
        "test": test_score(kept(run), a.data),
        "early": test_score(kept(early), a.data) if has_early else None,
    }
    if a.self_train_steps:  # ReDO's own model beside the kept one
        out["redo_test"] = test_score(run, a.data)
        out["redo_early"] = test_score(early, a.data) if has_early else None
    return out


def all_background(data: str) -> dict:
    """What predicting background everywhere scores on the test split: the floor to beat."""
    import torch

    from redo_lite.data import ImageFolderData
    from redo_lite.metrics import score

    info = json.loads((ROOT / data / "info.json").read_text())
    test = ImageFolderData(ROOT / data, "test", info["size"], info["regions"], need_masks=True)
    gt = test.batch(torch.arange(len(test)))[1]
    return score(torch.zeros_like(gt), gt, info["regions"])


def val_iou(row: dict) -> float:
    """An evaluation row's validation IoU: the better of the averaged and the live F."""
    return max(row["iou"], row.get("iou_live", 0))


def pace(rows: list) -> tuple[list, dict, float]:
    """A run's evaluation rows, its last row (a final test row aside) and its ms a step."""
    evals = [row for row in rows if row["kind"] == "eval"]
    last = [row for row in rows if row["kind"] != "test"][-1]
    return evals, last, 60000 * last["minutes"] / max(1, last["total_steps"])


def budgets(a) -> list[tuple[str, str, object, float]]:
    """The two budgets a seed is scored at: (label, key, whether an evaluation row falls within
    it, target), early first."""
    if a.steps:
        return [
            (
                f"{n} steps",
                f"within_{n}_steps",
                lambda row, n=n: row["total_steps"] <= n - a.self_train_steps,
                t,
            )
            for n, t in ((a.at_steps, a.target_at), (a.steps, a.target))
        ]
    return [
        (f"{m:g} min", f"within_{m:g}_min", lambda row, m=m: row["minutes"] <= m, t)
        for m, t in ((a.at, a.target_at), (a.minutes, a.target))
    ]


def reached(rows: list, within) -> str:
    """Where a run's last evaluation within a budget stood: its step count and minutes (ReDO's:
    the self-training steps after it are counted by the budget, not here)."""
    last = [x for x in rows if x["kind"] == "eval" and within(x)]
    return f"{last[-1]['total_steps']} steps, {last[-1]['minutes']:.1f} min" if last else "-"


def report(a, r) -> tuple[bool, bool]:
    print(f"\n== seed {r['seed']}  ({r['run']})")
    ema = any("iou_live" in row for row in r["rows"])
    print(
        f"{'minutes':>8} {'attempt':>7} {'step':>6} {'val IoU':>8} {'val acc':>8}  "
        f"{'live F  ' if ema else ''}areas"
    )
    for row in r["rows"]:
        if row["kind"] == "eval":
            live = f"{row['iou_live']:6.3f}  " if ema else ""
            areas = " ".join(f"{x:.3f}" for x in row["areas"])
            print(
                f"{row['minutes']:8.2f} {row['attempt']:7d} {row['step']:6d} {row['iou']:8.3f} "
                f"{row['acc']:8.3f}  {live}{areas}"
            )
        elif row["kind"].startswith("restart"):
            print(f"{row['minutes']:8.2f} {row['kind']}: {row.get('reason', '')}")
    evals, last, ms = pace(r["rows"])
    print(
        f"{last['total_steps']} steps in {last['minutes']:.1f} min ({ms:.0f} ms a step, "
        f"evaluations and restarts included)"
    )
    hits = []
    early_is_all = not a.steps and a.at == a.minutes  # --at is the whole run
    redo = (r.get("redo_early"), r.get("redo_test"))
    for i, ((label, _, within, target), t) in enumerate(
        zip(budgets(a), (r["early"], r["test"]), strict=True)
    ):
        if t is None:
            print(f"within {label}: no evaluation yet")
            hits.append(False)
            continue
        best_val = max((val_iou(x) for x in evals if within(x)), default=0)
        if hits and early_is_all:
            hits.append(t["iou"] >= target)  # its line is printed already
            continue
        if a.self_train_steps and redo[i] is not None:
            print(
                f"within {label}, ReDO alone (reached at {reached(r['rows'], within)}): best val "
                f"IoU {best_val:.3f}; selected {redo[i]['selected']}: test IoU "
                f"{redo[i]['iou']:.3f}"
            )
            label = f"{label}, ReDO then {a.self_train_steps} self-training steps"
        print(
            f"within {label} (reached at {reached(r['rows'], within)}): best val IoU "
            f"{best_val:.3f}; selected {t['selected']}: test IoU {t['iou']:.3f} (one permutation "
            f"{t['iou_split']:.3f}, even / odd {t['iou_split_regions'][1]:.3f} / "
            f"{t['iou_split_regions'][2]:.3f}), acc {t['acc']:.3f}"
        )
        hits.append(t["iou"] >= target)
    return hits[0], hits[1]


def entry(a, r) -> dict:
    """One seed's figures for --json (the format notebook 08's ``benchmark_note`` reads)."""
    evals, last, ms = pace(r["rows"])

    def first(mark, key="minutes"):
        hit = [x[key] for x in evals if val_iou(x) >= mark]
        return round(hit[0], 2) if hit else None

    def test(t):
        if t is None:
            return None
        keys = ("iou", "iou_split", "acc")
        return {**{k: round(float(t[k]), 4) for k in keys}, "selected": t["selected"]}

    return {
        "seed": r["seed"],
        "steps": last["total_steps"],
        "minutes": round(last["minutes"], 2),
        "restarts": sum(row["kind"] == "restart" for row in r["rows"]),
        "ms_per_step": round(ms),
        "val_iou_0.8_first_at_minutes": first(0.8),
        "val_iou_0.85_first_at_minutes": first(0.85),
        "val_iou_0.8_first_at_steps": first(0.8, "total_steps"),
        "val_iou_0.9_first_at_steps": first(0.9, "total_steps"),
        **{
            key: test(t) and {**test(t), "reached_at": reached(r["rows"], within)}
            for (_, key, within, _), t in zip(budgets(a), (r["early"], r["test"]), strict=True)
        },
        **(
            {
                f"{key}_redo_alone": test(t)
                for (_, key, _, _), t in zip(
                    budgets(a), (r["redo_early"], r["redo_test"]), strict=True
                )
            }
            if a.self_train_steps
            else {}
        ),
    }


def redo_hits(a, results) -> dict:
    """Per target, how many seeds ReDO's own model (before the self-training steps) met."""
    out = {}
    for (_, key, _, target), part in zip(budgets(a), ("redo_early", "redo_test"), strict=True):
        met = sum(r[part] is not None and r[part]["iou"] >= target for r in results)
        out[f"test_iou_{target}_{key}"] = f"{met} of {len(results)}"
    return out


def write_json(a, results, hits, floor) -> None:
    import platform

    import torch

    from redo_lite.config import Config
    from redo_lite.train import bf16_is_fast

    cfg = Config.load(Path(results[0]["run"]) / "config.json")
    n = len(results)
    # the command that trains and reports these seeds (--no-train only re-reads the runs)
    args, skip = [], False
    for x in a.argv:
        if skip or x in ("--no-train", "--force") or x.startswith("--json="):
            skip = False
            continue
        if x == "--json":
            skip = True
            continue
        args.append(x)
    out = {
        "command": " ".join(["python3 benchmarks/c2mnist_cpu.py", *args]),
        "preset": a.preset,
        "settings": a.set or [],
        # bf16 autocast as the runs had it: --amp, or the preset's amp on a CPU with bf16
        "bf16_autocast": a.amp or (cfg.amp and bf16_is_fast(torch.device("cpu"))),
        "data": a.data,
        "machine": f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}",
        "jobs": a.jobs,
        "threads": a.threads,
        "steps": a.steps,
        "at_steps": a.at_steps if a.steps else None,
        # of each budget in steps, the last this many are the self-training phase's (beyond the
        # paper); the rest are ReDO's, every attempt counted
        "self_train_steps": a.self_train_steps,
        "minutes": a.minutes,
        "at_minutes": None if a.steps else a.at,
        "stop_at_val_iou": a.stop_at,
        "all_background_test": {k: round(float(floor[k]), 4) for k in ("acc", "iou")},
        "targets": {
            f"test_iou_{target}_{key}": f"{sum(h[i] for h in hits)} of {n}"
            for i, (_, key, _, target) in enumerate(budgets(a))
        },
        # the same targets met by ReDO's own model, before the self-training steps
        **({"targets_redo_alone": redo_hits(a, results)} if a.self_train_steps else {}),
        "seeds": [entry(a, r) for r in results],
    }
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"figures written to {a.json}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, help="train each seed this many steps (all attempts)")
    ap.add_argument("--at-steps", type=int, help="also score the model selected by then")
    ap.add_argument(
        "--self-train-steps",
        type=int,
        default=0,
        help="with --steps: the last this many of each budget self-train the F selected by "
        "then (beyond the paper; default 0: ReDO alone)",
    )
    ap.add_argument(
        "--minutes", type=float, help="train this long (with --steps: a cap; else default 30)"
    )
    ap.add_argument("--at", type=float, default=10, help="also score the model selected by then")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--preset", default="c2mnist-cpu", help="a preset, or a config.json")
    ap.add_argument("--data", default="data/c2mnist32")
    ap.add_argument("--runs", default="runs/bench")
    ap.add_argument("--amp", action="store_true", help="bfloat16 autocast (train --amp)")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE", help="preset overrides")
    ap.add_argument("--target-at", type=float, default=0.80, help="test IoU target at --at")
    ap.add_argument(
        "--target", type=float, help="test IoU target at the end (0.9 by steps, else 0.85)"
    )
    ap.add_argument(
        "--stop-at",
        type=float,
        help="end a seed once its selected validation IoU reaches this (after --at minutes)",
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this file (new file)")
    ap.add_argument("--force", action="store_true", help="let --json replace an existing file")
    ap.add_argument("--no-train", action="store_true", help="report the runs already there")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    if a.steps is None and a.minutes is None:
        a.minutes = 30.0
    if a.steps is not None:
        a.at_steps = a.steps // 2 if a.at_steps is None else a.at_steps
        if not 0 < a.at_steps <= a.steps:
            ap.error(f"--at-steps {a.at_steps}: expected from 1 to --steps ({a.steps})")
        if not 0 <= a.self_train_steps < a.at_steps:
            ap.error(
                f"--self-train-steps {a.self_train_steps}: expected from 0 to below --at-steps "
                f"({a.at_steps}), the self-training counted inside each budget"
            )
    elif a.self_train_steps:
        ap.error("--self-train-steps counts inside a budget in steps: give --steps too")
    if a.target is None:
        a.target = 0.9 if a.steps else 0.85
    if a.worker is not None:
        return train_worker(a)
    if not (ROOT / a.data / "info.json").exists():
        subprocess.run(
            [sys.executable, "-m", "data_prep.c2mnist", "--out", a.data], cwd=ROOT, check=True
        )
    if a.json and a.json.exists() and not a.force:
        sys.exit(f"{a.json}: exists; name another file, or add --force to replace it")
    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(lambda s: train_seed(a, s), a.seeds))
    hits = [report(a, r) for r in results]
    floor = all_background(a.data)
    print(
        f"\nall-background prediction on the test split: acc {floor['acc']:.3f}, "
        f"digit IoU {floor['iou']:.3f}"
    )
    n = len(results)
    for i, (label, _, within, target) in enumerate(budgets(a)):
        key = ("early", "test")[i]
        each = ", ".join(
            f"{r['seed']}: {r[key]['iou']:.3f} ({reached(r['rows'], within)})"
            if r[key]
            else f"{r['seed']}: -"
            for r in results
        )
        print(
            f"within {label}: test IoU >= {target} for {sum(h[i] for h in hits)} of {n} "
            f"seeds ({each})"
        )
    if a.json:
        write_json(a, results, hits, floor)


if __name__ == "__main__":
    main()
