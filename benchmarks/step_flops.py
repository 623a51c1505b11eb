"""Floating-point operations of one ReDO training step for a preset, counted (not timed) with
``torch.utils.flop_counter`` on the meta device (shapes only: instant on any machine), and the time
that many operations would take at a GPU's peak rate: a floor under the step time, not a
prediction (a step of convolutions, attention and small batches runs well below peak; only
``benchmarks/gpu_check.sh`` on the GPU measures it).

    python benchmarks/step_flops.py [--preset flowers-paper] [--batch 25]

The step counted is ``redo_lite.step.train_step``'s: F, G and δ forward and backward with D
forward and backward on the redrawn images, then the redraw again without gradients and D forward
and backward on real and redrawn images. The count covers matrix products, convolutions and
attention (what the flop counter knows); element-wise work is left out.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from redo_lite.config import get_preset
from redo_lite.losses import hinge_d_fake, hinge_d_real, hinge_g, z_loss
from redo_lite.nets import build_nets
from redo_lite.process import assemble, sample_z
from redo_lite.step import redraw

# NVIDIA H100 SXM5 datasheet, dense tensor-core peaks (TFLOP/s): fp32 without tensor cores, TF32
# and bf16 with them. bf16 matrix products were seen at 769-798 TFLOP/s on this project's H100
# machine (8192^3, random data), below the datasheet's 989.
PEAK_TFLOPS = {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4}


def step_flops(cfg, batch: int) -> int:
    """Operations of one train_step at this batch, counted on the meta device."""
    nets = {k: v.to("meta") for k, v in build_nets(cfg).items()}
    F, G, D, Z = (nets[k] for k in "FGDZ")

    def images():
        return torch.empty(batch, 3, cfg.size, cfg.size, device="meta")

    x_gen, x_real = images(), images()
    z = sample_z(batch, cfg.regions, cfg.z_dim, device="meta")
    with FlopCounterMode(display=False) as count:
        masks, drawn, fakes = redraw(nets, x_gen, z)
        (hinge_g(D(fakes)) + z_loss(Z(assemble(drawn)), z, cfg.lambda_z)).backward()
        with torch.no_grad():
            fakes = redraw(nets, x_gen, z)[2]
        hinge_d_real(D(x_real)).backward()
        hinge_d_fake(D(fakes)).backward()
    return count.get_total_flops()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="flowers-paper")
    ap.add_argument("--batch", type=int, help="batch size (default: the preset's)")
    a = ap.parse_args(argv)
    cfg = get_preset(a.preset)
    batch = a.batch or cfg.batch
    flops = step_flops(cfg, batch)
    print(f"{a.preset}, {cfg.size} px, batch {batch}: {flops / 1e12:.2f} TFLOP a step (counted)")
    for mode, peak in PEAK_TFLOPS.items():
        floor = flops / (peak * 1e12)
        print(
            f"  at the H100's {mode} peak ({peak} TFLOP/s): at least {1000 * floor:.1f} ms a step"
        )
    return flops


if __name__ == "__main__":
    main()
