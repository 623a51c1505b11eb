"""Step time and images/s of one ReDO training step (generator step + discriminator step) for a
preset, on whatever device is present: fp32, TF32 (GPU), bf16 autocast, eager and compiled, each
mode as the Trainer runs it (``--amp``, ``--tf32``, ``--compile``).

    python benchmarks/step_time.py [--preset flowers-paper] [--batch 25] [--steps 20] [--warmup 3]
                                   [--modes fp32 tf32 amp compile amp+compile]

Random images stand in for data (the step's cost does not depend on them). The compiled modes'
``warmup_s`` includes compiling. On a CPU the 128 px paper preset takes minutes a step at batch
25: use ``--batch 4`` or ``--preset c2mnist-cpu`` there.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from redo_lite.config import get_preset
from redo_lite.nets import build_nets
from redo_lite.process import sample_z
from redo_lite.step import make_optimizers, train_step
from redo_lite.train import Autocast


def measure(
    cfg, device, amp: bool, compiled: bool, steps: int, warmup: int, seconds: float = math.inf
) -> dict:
    """Time ``train_step`` on the networks wrapped exactly as the Trainer wraps them: ``steps``
    steps after ``warmup`` ones, or fewer (one at least) once ``seconds`` of timed steps are
    spent."""
    torch.manual_seed(0)
    nets = {k: v.to(device, memory_format=torch.channels_last) for k, v in build_nets(cfg).items()}
    opts = make_optimizers(cfg, nets)
    run = {k: Autocast(v, device.type) for k, v in nets.items()} if amp else nets
    run = {k: torch.compile(v) for k, v in run.items()} if compiled else run

    def batch():
        x = torch.rand(cfg.batch, 3, cfg.size, cfg.size, device=device) * 2 - 1
        return x.contiguous(memory_format=torch.channels_last)

    def one_step():
        z = sample_z(cfg.batch, cfg.regions, cfg.z_dim, device=device)
        train_step(run, opts, batch(), batch(), z, cfg.lambda_z)

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(warmup):
        one_step()
    sync()
    first = time.perf_counter() - t  # includes compiling, when compiled
    t, done = time.perf_counter(), 0
    while done < steps and (done == 0 or time.perf_counter() - t < seconds):
        one_step()
        sync()  # (once a step: the time check reads the GPU's time, not the launch queue's)
        done += 1
    sec = (time.perf_counter() - t) / done
    out = {
        "steps": done,
        "ms_per_step": round(1000 * sec, 1),
        "images_per_s": round(cfg.batch / sec, 1),
        "warmup_s": round(first, 1),
    }
    if device.type == "cuda":
        out["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="flowers-paper")
    ap.add_argument("--batch", type=int, help="batch size (default: the preset's)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument(
        "--seconds", type=float, default=math.inf, help="stop timing after this long (1 step min)"
    )
    ap.add_argument("--threads", type=int)
    ap.add_argument("--modes", nargs="+", default=["fp32", "tf32", "amp", "compile", "amp+compile"])
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        name = torch.cuda.get_device_name()
        torch.backends.cudnn.benchmark = True  # as the Trainer
    else:
        name = f"cpu ({torch.get_num_threads()} threads)"
    cfg = get_preset(a.preset)
    if a.batch:
        cfg.batch = a.batch
    print(
        f"{a.preset}: {cfg.size}px, batch {cfg.batch}, {cfg.regions} regions on {name}, "
        f"torch {torch.__version__}"
    )
    for mode in a.modes:
        if "tf32" in mode and device.type != "cuda":
            print(json.dumps({"mode": mode, "skipped": "TF32 exists on GPUs only"}), flush=True)
            continue
        if device.type == "cuda":  # fp32 means fp32, as the Trainer without --tf32
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = "tf32" in mode
        r = measure(
            cfg,
            device,
            amp="amp" in mode,
            compiled="compile" in mode,
            steps=a.steps,
            warmup=a.warmup,
            seconds=a.seconds,
        )
        print(json.dumps({"mode": mode, **r}), flush=True)


if __name__ == "__main__":
    main()
