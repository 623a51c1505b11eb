"""Step time and images/s of one ReDO training step (generator step + discriminator step) for a
preset, on whatever device is present, in fp32 and bf16 autocast, eager and torch.compile'd.

    python benchmarks/step_time.py [--preset flowers-paper] [--steps 20] [--warmup 3]
                                   [--modes fp32 amp compile amp+compile]

Random images stand in for data (the step's cost does not depend on them). On a CPU the 128 px
paper preset takes minutes a step; use --preset c2mnist-cpu there.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from redo_lite.config import get_preset
from redo_lite.nets import build_nets
from redo_lite.process import sample_z
from redo_lite.train import make_optimizers, train_step


def measure(cfg, device, amp: bool, compiled: bool, steps: int, warmup: int) -> dict:
    torch.manual_seed(0)
    nets = {k: v.to(device, memory_format=torch.channels_last) for k, v in build_nets(cfg).items()}
    opts = make_optimizers(cfg, nets)
    run = {k: torch.compile(v) for k, v in nets.items()} if compiled else nets

    def x():
        images = torch.rand(cfg.batch, 3, cfg.size, cfg.size, device=device) * 2 - 1
        return images.contiguous(memory_format=torch.channels_last)

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        train_step(
            run,
            opts,
            x(),
            x(),
            sample_z(cfg.batch, cfg.regions, cfg.z_dim, device=device),
            cfg.lambda_z,
            amp=amp,
        )
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        train_step(
            run,
            opts,
            x(),
            x(),
            sample_z(cfg.batch, cfg.regions, cfg.z_dim, device=device),
            cfg.lambda_z,
            amp=amp,
        )
    sync()
    sec = (time.perf_counter() - t) / steps
    out = {"ms_per_step": round(1000 * sec, 1), "images_per_s": round(cfg.batch / sec, 1)}
    if device.type == "cuda":
        out["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="flowers-paper")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--modes", nargs="+", default=["fp32", "amp", "compile", "amp+compile"])
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)"
    )
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    cfg = get_preset(a.preset)
    print(
        f"{a.preset}: {cfg.size}px, batch {cfg.batch}, {cfg.regions} regions on {name}, "
        f"torch {torch.__version__}"
    )
    for mode in a.modes:
        r = measure(
            cfg,
            device,
            amp="amp" in mode,
            compiled="compile" in mode,
            steps=a.steps,
            warmup=a.warmup,
        )
        print(json.dumps({"mode": mode, **r}))


if __name__ == "__main__":
    main()
