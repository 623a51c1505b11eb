"""The one-object stepping stone under load: train on a folder of one-object images with no
preset (``cpu_defaults``), exactly as a learner would, and score the held-out images.

    python benchmarks/shapes_cpu.py [--minutes 10] [--seeds 0] [--kinds shapes polygons] [--jobs 2]

Three data sets, drawn by different code: ``shapes`` is ``data_prep.shapes`` (a noisy ellipse on
two-colour stripes); ``polygons`` is drawn here: a regular polygon or an ellipse with a grainy,
shaded fill on a background of one hue with smooth shading and fine noise; ``blobs`` is drawn
here too: a star-shaped blob (a radius made of a few random harmonics) filled with a colour
gradient and speckle, on a background of soft colour noise or a checkerboard. A background that
is itself two things of different colours (stripes, a checkerboard, patches of several hues) can
be split in two by colour as well as into object and background, and ReDO may take either
split; ``polygons`` has one hue in its background. ``--jobs 2`` trains two at once, so every run
shares the machine with another training. Each run is
``python -m redo_lite train --data DIR --regions 2 --size 32 --minutes M --seed S --threads 1``;
the score is its own test-split line (the model selected on validation, foreground IoU with
each image's best permutation).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bilinear(grid: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """``grid`` (c+1, c+1, ...): values at the corners of c x c cells over the unit square, read
    at the points (yy, xx) in [0, 1) by bilinear interpolation; a smooth random field."""
    cells = grid.shape[0] - 1
    gy, gx = yy * cells, xx * cells
    y0, x0 = gy.astype(int), gx.astype(int)
    extra = (1,) * (grid.ndim - 2)  # the weights broadcast over the grid's value dimensions
    fy, fx = (gy - y0).reshape(gy.shape + extra), (gx - x0).reshape(gx.shape + extra)
    return (
        grid[y0, x0] * (1 - fy) * (1 - fx)
        + grid[y0 + 1, x0] * fy * (1 - fx)
        + grid[y0, x0 + 1] * (1 - fy) * fx
        + grid[y0 + 1, x0 + 1] * fy * fx
    )


def blob_sample(rng: np.random.Generator, size: int):
    """One image (size,size,3 uint8) and its mask (1 = object), drawn without data_prep.shapes."""
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size
    # background: smooth colour noise (bilinear-enlarged random grid) or a two-colour checkerboard
    if rng.random() < 0.5:
        cells = rng.integers(2, 6)
        bg = bilinear(rng.uniform(0, 1, (cells + 1, cells + 1, 3)), yy, xx)
    else:
        a, b = rng.uniform(0, 1, (2, 3))
        period = rng.integers(3, 9)
        check = ((np.floor(yy * size / period) + np.floor(xx * size / period)) % 2)[..., None]
        bg = check * a + (1 - check) * b
    # object: r(theta) = r0 (1 + sum_k a_k cos(k theta + phi_k)), k = 2..5
    cy, cx = rng.uniform(0.3, 0.7, 2)
    r0 = rng.uniform(0.14, 0.28)
    theta = np.arctan2(yy - cy, xx - cx)
    wobble = sum(
        rng.uniform(0, 0.25) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) for k in range(2, 6)
    )
    inside = np.hypot(yy - cy, xx - cx) <= r0 * (1 + wobble)
    c1, c2 = rng.uniform(0, 1, (2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + ((xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)) / (2 * r0), 0, 1)
    fill = ramp[..., None] * c1 + (1 - ramp[..., None]) * c2
    fill = np.clip(fill + rng.normal(0, 0.08, fill.shape), 0, 1)
    img = np.where(inside[..., None], fill, bg)
    return (img * 255).round().astype(np.uint8), inside.astype(np.uint8)


def polygon_sample(rng: np.random.Generator, size: int):
    """One image and mask, a third way: a regular polygon or an ellipse with a grainy fill and
    soft shading, on a background of one hue with smooth shading and fine noise."""
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size
    # background: one hue, its brightness varying smoothly (a bilinear-enlarged random grid), with
    # fine noise; a background of several hues could itself be split in two by colour
    cells = rng.integers(1, 4)
    light = bilinear(rng.uniform(0.6, 1.2, (cells + 1, cells + 1)), yy, xx)
    bg = light[..., None] * rng.uniform(0.1, 0.9, 3) + rng.normal(0, 0.04, (size, size, 3))
    cy, cx = rng.uniform(0.3, 0.7, 2)
    r = rng.uniform(0.15, 0.3)
    sides = rng.integers(3, 8)  # 3-6: a polygon; 7: an ellipse
    dy, dx = yy - cy, xx - cx
    if sides < 7:
        t = np.arctan2(dy, dx) - rng.uniform(0, 2 * np.pi)
        sector = 2 * np.pi / sides
        # distance to the edge of a regular polygon of circumradius r, at angle t
        edge = r * np.cos(np.pi / sides) / np.cos((t % sector) - sector / 2)
        inside = np.hypot(dy, dx) <= edge
    else:
        a, b, t = r, r * rng.uniform(0.5, 1.0), rng.uniform(0, np.pi)
        u, v = np.cos(t) * dx + np.sin(t) * dy, -np.sin(t) * dx + np.cos(t) * dy
        inside = (u / a) ** 2 + (v / b) ** 2 <= 1
    base = rng.uniform(0, 1, 3)
    grain = rng.uniform(0.7, 1.3, (size, size, 1))
    shade = 0.8 + 0.4 * np.clip(0.5 - (dy + dx) / (4 * r), 0, 1)[..., None]
    fill = base * grain * shade
    img = np.clip(np.where(inside[..., None], fill, bg), 0, 1)
    return (img * 255).round().astype(np.uint8), inside.astype(np.uint8)


def build_drawn(
    out: Path, name: str, sample, salt: int, size: int = 32, n=(5000, 500, 500), seed: int = 0
) -> Path:
    """A one-object data set drawn by ``sample(rng, size)``: ``n`` train, val and test images,
    each split from its own stream ``[seed, salt, split]``. An existing one is kept."""
    from data_prep.common import DatasetWriter

    if (out / "info.json").exists():
        return out
    writer = DatasetWriter(out, name, {"size": size, "seed": seed, "n": list(n)})
    for split, count, offset in zip(("train", "val", "test"), n, (0, 1, 2), strict=True):
        rng = np.random.default_rng([seed, salt, offset])
        writer.fill(split, count, lambda rng=rng: sample(rng, size))
    writer.finish(
        {
            "name": name,
            "regions": 2,
            "size": size,
            "seed": seed,
            "labels": {"0": "background", "1": "object"},
        }
    )
    return out


KINDS = ("shapes", "polygons", "blobs")


def build(kind: str, root: Path) -> Path:
    out = root / f"{kind}32"
    if kind == "blobs":
        return build_drawn(out, "blobs", blob_sample, 7)
    if kind == "polygons":
        return build_drawn(out, "polygons", polygon_sample, 11)
    if not (out / "info.json").exists():
        from data_prep.shapes import build as build_shapes

        build_shapes(out, size=32, seed=0)
    return out


def train(data: Path, run: Path, minutes: float, seed: int, threads: int, extra) -> dict:
    cmd = [sys.executable, "-m", "redo_lite", "train", "--data", str(data), "--out", str(run)]
    cmd += ["--regions", "2", "--size", "32", "--minutes", str(minutes), "--seed", str(seed)]
    cmd += ["--threads", str(threads), *extra]
    subprocess.run(cmd, cwd=ROOT, check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    test = [r for r in rows if r["kind"] == "test"][-1]
    last = [r for r in rows if r["kind"] != "test"][-1]
    return {"test": test, "steps": last["total_steps"], "minutes": last["minutes"], "rows": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--kinds", nargs="+", default=["shapes", "polygons"], choices=KINDS)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "shapes-bench")
    ap.add_argument("--target", type=float, default=0.75)
    ap.add_argument("--train-args", nargs=argparse.REMAINDER, default=[], help="passed to train")
    a = ap.parse_args(argv)
    jobs = [(k, s) for k in a.kinds for s in a.seeds]
    data = {k: build(k, a.data) for k in a.kinds}

    def run_one(job):
        kind, seed = job
        run = a.runs / f"{kind}-seed{seed}"
        return train(data[kind], run, a.minutes, seed, a.threads, a.train_args)

    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(run_one, jobs))
    reached = 0
    for (kind, seed), r in zip(jobs, results, strict=True):
        curve = " ".join(
            f"{row['minutes']:.1f}:{row['iou']:.2f}" for row in r["rows"] if row["kind"] == "eval"
        )
        t = r["test"]
        reached += t["iou"] >= a.target
        print(
            f"{kind} seed {seed}: {r['steps']} steps in {r['minutes']:.1f} min "
            f"({60000 * r['minutes'] / max(1, r['steps']):.0f} ms/step); test foreground IoU "
            f"{t['iou']:.3f} (one permutation {t['iou_split']:.3f}); val IoU by minute: {curve}"
        )
    print(
        f"runs reaching test foreground IoU >= {a.target} in {a.minutes} min, {a.jobs} at a "
        f"time: {reached} of {len(jobs)}"
    )


if __name__ == "__main__":
    main()
