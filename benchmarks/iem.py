"""IEM (inpainting error maximisation, learning-free) next to the classic baselines and ReDO, on
colored-2-MNIST (3 regions) and textured shapes (2 regions): test IoU and the time each takes.

    python benchmarks/iem.py [--c2mnist data/c2mnist32] [--shapes data/shapes32]
        [--images 1000] [--tune-images 200] [--redo checkpoints/c2mnist-cpu]

A data folder that does not exist is built first (``python -m data_prep.c2mnist`` /
``python -m data_prep.shapes``, 32 px). IEM runs twice: with the paper's recipe scaled to the
image (``redo_lite.beyond.iem.iem`` defaults), and with sigma, smoothing and lambda chosen on
``--tune-images`` validation images (the grid's scores are printed). Two ablations with the chosen
settings say which term does the work: the inpainting error alone (lambda 0), and the colour-spread
regulariser alone (no inpainting error). On colored-2-MNIST a 2-region line scores IEM and k-means
against the digits merged into one object. ``--redo``: a ReDO run (``load_run``) scored on the same
colored-2-MNIST images. ``--shapes`` takes any 2-region folder (e.g. ``data/flowers --size 128``,
where the paper's recipe applies unscaled). Every IoU is the course's metric
(``redo_lite.metrics.score``: per image, best permutation, mean over object regions); "IoU 1 perm"
is the same with one permutation for the whole split. Times are wall-clock on the calling machine
(``--threads`` torch threads, 1 by default).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redo_lite.beyond.baselines import centre_box, grabcut, kmeans_colour  # noqa: E402
from redo_lite.beyond.iem import iem  # noqa: E402
from redo_lite.data import ImageFolderData  # noqa: E402
from redo_lite.metrics import score  # noqa: E402

SIGMA_SCALES = (1.0, 1.6, 2.4, 3.2)  # times the paper's sigma scaled to the image (5 * H/128)
LAM_SCALES = (0.0, 1.0, 2.0)  # times the paper's lambda scaled to the image (1e-3 * 128^2/(H*W))


def no_error(x, masks, sigma):
    """An objective with no inpainting error: what the colour-spread regulariser does alone."""
    return torch.zeros(len(x))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def tune(x, gt, regions: int) -> tuple[dict, list]:
    """Best IEM settings on validation images over a small grid, and every score of the grid."""
    h, w = x.shape[-2:]
    sigma0, lam0 = 5 * h / 128, 1e-3 * 128**2 / (h * w)
    rows = []
    for s, smooth, lam in itertools.product(SIGMA_SCALES, (True, False), LAM_SCALES):
        kw = dict(sigma=round(s * sigma0, 3), smooth=smooth, lam=round(lam * lam0, 5))
        rows.append((score(iem(x, regions, **kw), gt, regions)["iou"], kw))
        print(f"  val IoU {rows[-1][0]:.3f}  {kw}", flush=True)
    return max(rows, key=lambda r: r[0])[1], rows


def bench(name: str, data_dir: str, regions: int, a, redo_nets=None) -> dict:
    test = ImageFolderData(data_dir, "test", a.size, regions, need_masks=True, limit=a.images)
    x, gt = test.batch(torch.arange(len(test)))
    print(f"\n== {name}: {len(test)} test images, {a.size} px, {regions} regions ==")
    if a.tune_images:
        val = ImageFolderData(
            data_dir, "val", a.size, regions, need_masks=True, limit=a.tune_images
        )
        xv, gv = val.batch(torch.arange(len(val)))
        print(f"choosing IEM's settings on {len(val)} validation images:")
        best, _ = tune(xv, gv, regions)
        print(f"chosen: {best}")
    else:
        best = {}
    methods = {
        "centred box": lambda: centre_box(x, 0.5),
        "k-means on colour": lambda: kmeans_colour(x, regions),
        "GrabCut": lambda: grabcut(x, 0.8) if regions == 2 else None,
        "IEM, paper recipe": lambda: iem(x, regions),
        "IEM, chosen on val": (lambda: iem(x, regions, **best)) if best else None,
        "  inpainting error only": lambda: iem(x, regions, **{**best, "lam": 0.0}),
        "  colour spread only": lambda: iem(
            x, regions, **{**best, "lam": best.get("lam") or 1.0}, error_fn=no_error
        ),
    }
    if redo_nets is not None:
        from redo_lite.train import predict

        methods["ReDO (F of --redo)"] = lambda: predict(redo_nets["F"], x)
    table = {}
    print(f"{'method':>26}  {'IoU':>6}  {'IoU 1 perm':>10}  {'acc':>6}  {'seconds':>8}")
    for label, fn in methods.items():
        if fn is None:  # nothing chosen (--tune-images 0): the paper recipe's row says it all
            continue
        pred, secs = timed(fn)
        if pred is None:  # GrabCut separates one object from the background: n = 2 only
            continue
        s = score(pred, gt, regions)
        table[label.strip()] = {"iou": s["iou"], "iou_split": s["iou_split"], "acc": s["acc"]}
        table[label.strip()]["seconds"] = secs
        print(f"{label:>26}  {s['iou']:6.3f}  {s['iou_split']:10.3f}  {s['acc']:6.3f}  {secs:8.1f}")
    out = {"images": len(test), "size": a.size, "regions": regions, "chosen": best}
    out["methods"] = table
    if regions > 2:  # one object region: all digits together
        fg = (gt > 0).long()
        two = {
            "IEM, 2 regions (paper recipe)": score(iem(x, 2), fg, 2)["iou"],
            "IEM, 2 regions (chosen smoothing/sigma)": score(
                iem(x, 2, sigma=best.get("sigma"), smooth=best.get("smooth", True)), fg, 2
            )["iou"],
            "k-means, 2 clusters": score(kmeans_colour(x, 2), fg, 2)["iou"],
        }
        print("against the digits merged into one object (2 regions):")
        for k, v in two.items():
            print(f"{k:>40}  IoU {v:.3f}")
        out["two_regions"] = two
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--c2mnist", default="data/c2mnist32", help="colored-2-MNIST folder ('' to skip)"
    )
    ap.add_argument("--shapes", default="data/shapes32", help="a 2-region folder ('' to skip)")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--images", type=int, default=1000, help="test images per data set (at most)")
    ap.add_argument("--tune-images", type=int, default=200, help="validation images; 0: no tuning")
    ap.add_argument("--redo", default=None, help="a ReDO run folder, scored on colored-2-MNIST")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    results = {}
    if a.c2mnist:
        if not Path(a.c2mnist).exists():
            from data_prep.c2mnist import build

            build(Path(a.c2mnist), size=a.size, seed=0)
        nets = None
        if a.redo:
            from redo_lite.run import load_run

            _, nets = load_run(a.redo)
        results["colored-2-MNIST"] = bench("colored-2-MNIST", a.c2mnist, 3, a, nets)
    if a.shapes:
        if not Path(a.shapes).exists():
            from data_prep.shapes import build

            build(Path(a.shapes), size=a.size, seed=0)
        name = json.loads((Path(a.shapes) / "info.json").read_text()).get("name", a.shapes)
        results[name] = bench(name, a.shapes, 2, a)
    print("RESULT " + json.dumps(results))
    return results


if __name__ == "__main__":
    main()
