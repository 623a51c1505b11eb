"""The site's playground files: the shipped colored-2-MNIST networks F and G (all G_k in one graph)
exported to ONNX with torch's exporter, checked against PyTorch on the same inputs, and a few
dozen test images for the reader to pick from.

    python3 tools/export_onnx.py --out _build/playground     # (bash tools/build_site.sh runs it)

Writes, under --out: ``models/<name>/F.onnx`` and ``G.onnx`` for each model of ``MODELS``,
``images.json`` (the first ``--images`` images of colored-2-MNIST's test split, 32 px, as the
course builds it) and ``playground.json`` (what the page reads: sizes, models, files). Prints,
for each model, the largest |PyTorch - ONNX Runtime| over the test images and one z each, and
fails when it exceeds ``TOLERANCE``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redo_lite.run import load_run  # noqa: E402

# The models the playground offers, in the order of its toggle; the first is the default.
MODELS = {
    "redo": ("checkpoints/c2mnist-cpu", "ReDO alone"),
    "selftrained": (
        "checkpoints/c2mnist-cpu-selftrained",
        "ReDO then self-trained (beyond the paper)",
    ),
}
TOLERANCE = 1e-4  # largest |PyTorch - ONNX Runtime| allowed on F's masks and G's drawings
OPSET = 17


def plain(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` with each spectral-norm parametrization replaced by the weight it gives in eval
    mode (W / σ with the stored power-iteration vectors): the exporter has no ``vdot``. Changes
    the module in place; pass one loaded for export only (a deep copy shares the parametrized
    classes with its original)."""
    from torch.nn.utils import parametrize

    for m in [m for m in module.modules() if parametrize.is_parametrized(m)]:
        for name in list(m.parametrizations):
            parametrize.remove_parametrizations(m, name, leave_parametrized=True)
    return module


def export_model(run: Path, out: Path) -> dict:
    """F.onnx (image 1,3,S,S in [-1,1] -> masks 1,n,S,S) and G.onnx (masks 1,n,S,S and z 1,n,z_dim
    -> every region drawn, G_k(M^k, z_k): 1,n,3,S,S) of the run at ``run``, in ``out``."""
    cfg, nets = load_run(run)
    out.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 3, cfg.size, cfg.size)
    with torch.no_grad():
        m = nets["F"](x)
    z = torch.zeros(1, cfg.regions, cfg.z_dim)
    graphs = {
        "F": (nets["F"], (x,), ["image"], ["masks"]),
        "G": (nets["G"], (m, z), ["masks", "z"], ["drawn"]),
    }
    with warnings.catch_warnings():  # the exporter's notes on traced shapes and instance norm
        warnings.simplefilter("ignore")
        for name, (net, args, inputs, outputs) in graphs.items():
            torch.onnx.export(
                plain(net),
                args,
                str(out / f"{name}.onnx"),
                dynamo=False,  # the TorchScript exporter: no onnxscript needed
                input_names=inputs,
                output_names=outputs,
                opset_version=OPSET,
            )
    return {"size": cfg.size, "regions": cfg.regions, "z_dim": cfg.z_dim}


@torch.no_grad()
def largest_difference(run: Path, folder: Path, images: torch.Tensor, seed: int = 0) -> dict:
    """Largest |PyTorch - ONNX Runtime| of F's masks and of G's drawings for each image
    (N,3,S,S in [-1,1]) with one z each (seeded), the networks loaded afresh from ``run``."""
    import onnxruntime as ort

    cfg, nets = load_run(run)
    f = ort.InferenceSession(str(folder / "F.onnx"), providers=["CPUExecutionProvider"])
    g = ort.InferenceSession(str(folder / "G.onnx"), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = {"F": 0.0, "G": 0.0}
    for x in images:
        x = x[None].float()
        masks = nets["F"](x)
        z = torch.randn(1, cfg.regions, cfg.z_dim, generator=gen)
        drawn = nets["G"](masks, z)
        f_out = f.run(None, {"image": x.numpy()})[0]
        g_out = g.run(None, {"masks": masks.numpy(), "z": z.numpy()})[0]
        worst["F"] = max(worst["F"], float(np.abs(f_out - masks.numpy()).max()))
        worst["G"] = max(worst["G"], float(np.abs(g_out - drawn.numpy()).max()))
    return worst


def test_images(n: int, size: int = 32) -> torch.Tensor:
    """The first ``n`` images of colored-2-MNIST's test split (the split data/c2mnist32 holds:
    the same seed, and each split draws from its own random stream), N,3,S,S uint8."""
    from data_prep.c2mnist import build
    from redo_lite.data import ImageFolderData

    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), size=size, seed=0, n_train=0, n_val=0, n_test=n)
        return ImageFolderData(tmp, "test", size, 3, masks="none").images


def export_all(out: Path, n_images: int = 36) -> dict:
    """Every file the playground reads, written under ``out``; returns, per model, its run, its
    largest differences and the sizes of its ONNX files in bytes."""
    out.mkdir(parents=True, exist_ok=True)
    images = test_images(n_images)
    unit = images.float() / 127.5 - 1  # as ImageFolderData.batch
    (out / "images.json").write_text(
        json.dumps(
            {
                "size": images.shape[-1],
                "source": "colored-2-MNIST, test split (data_prep.c2mnist, seed 0)",
                "layout": "RGB planes (3,H,W), uint8, base64",
                "images": [base64.b64encode(im.numpy().tobytes()).decode() for im in images],
            }
        )
    )
    manifest, report = {"images": "images.json", "models": []}, {}
    for name, (run, label) in MODELS.items():
        folder = out / "models" / name
        manifest.update(export_model(ROOT / run, folder))
        worst = largest_difference(ROOT / run, folder, unit)
        sizes = {k: (folder / f"{k}.onnx").stat().st_size for k in ("F", "G")}
        files = {k: f"models/{name}/{k}.onnx" for k in ("F", "G")}
        manifest["models"].append({"name": name, "label": label, "run": run, **files})
        report[name] = {"run": run, "difference": worst, "bytes": sizes}
    (out / "playground.json").write_text(json.dumps(manifest, indent=1))
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "playground")
    ap.add_argument("--images", type=int, default=36, help="test images to bake (default 36)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    report = export_all(a.out, a.images)
    bad = []
    for r in report.values():
        d, b = r["difference"], r["bytes"]
        print(
            f"{r['run']}: largest |PyTorch - ONNX| at 32 px over {a.images} test images: "
            f"F {d['F']:.2e}, G {d['G']:.2e}; F.onnx {b['F'] / 1e6:.2f} MB, "
            f"G.onnx {b['G'] / 1e6:.2f} MB"
        )
        bad += [f"{r['run']}: {k} differs by {v:.2e}" for k, v in d.items() if v > TOLERANCE]
    if bad:
        print(f"error: ONNX export differs from PyTorch beyond {TOLERANCE:g}: " + "; ".join(bad))
        return 1
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
