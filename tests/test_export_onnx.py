"""The playground's networks: both shipped models exported to ONNX by tools/export_onnx.py agree
with PyTorch on test images (the largest difference is printed), and stay small."""

import base64
import json

import numpy as np
import pytest
import torch
from conftest import load_script

pytest.importorskip("onnxruntime", reason="pip install -c constraints-ci.txt -e '.[dev]'")
export = load_script("tools/export_onnx.py")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """tools/export_onnx.py run once, with 4 test images: (folder, what it printed)."""
    out = tmp_path_factory.mktemp("playground")
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert export.main(["--out", str(out), "--images", "4"]) == 0
    return out, printed.getvalue()


def baked_images(folder) -> torch.Tensor:
    """images.json as the page reads it: RGB planes, uint8 -> N,3,S,S in [-1, 1]."""
    baked = json.loads((folder / "images.json").read_text())
    s = baked["size"]
    planes = [np.frombuffer(base64.b64decode(b), np.uint8) for b in baked["images"]]
    return torch.from_numpy(np.stack(planes).reshape(-1, 3, s, s)).float() / 127.5 - 1


def test_both_shipped_models_export_to_onnx_that_agrees_with_pytorch(exported):
    out, printed = exported
    print(printed)
    manifest = json.loads((out / "playground.json").read_text())
    runs = [m["run"] for m in manifest["models"]]
    assert runs == ["checkpoints/c2mnist-cpu", "checkpoints/c2mnist-cpu-selftrained"]
    assert manifest["models"][0]["label"] == "ReDO alone"  # the default: ReDO is the subject
    assert "beyond the paper" in manifest["models"][1]["label"]
    assert (manifest["size"], manifest["regions"], manifest["z_dim"]) == (32, 3, 16)
    images = baked_images(out)
    assert images.shape == (4, 3, 32, 32) and images.std() > 0.1
    for model in manifest["models"]:
        assert f"{model['run']}: largest |PyTorch - ONNX| at 32 px" in printed
        sizes = [(out / model[net]).stat().st_size for net in ("F", "G")]
        assert sum(sizes) < 5e6, sizes
        # the check itself, recomputed here with other noise
        folder = out / "models" / model["name"]
        worst = export.largest_difference(export.ROOT / model["run"], folder, images, seed=1)
        print(model["run"], worst)
        assert set(worst) == {"F", "G"}
        assert 0 <= max(worst.values()) < export.TOLERANCE == 1e-4


def test_a_differing_export_fails_the_check(exported):
    """The check can fail: the self-trained F and G compared with ReDO alone's."""
    out, _ = exported
    redo = export.ROOT / export.MODELS["redo"][0]
    worst = export.largest_difference(redo, out / "models" / "selftrained", baked_images(out))
    assert worst["F"] > export.TOLERANCE
