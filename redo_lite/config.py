"""Named presets: every size in the networks and every training knob lives here.

One dataclass, so that the same code serves a 32 px model on a laptop CPU and the paper's
128 px model on a GPU. ``Config.to_dict`` / ``Config.from_dict`` round-trip through the
``config.json`` that every run folder holds.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Config:
    preset: str = "custom"
    # --- data -----------------------------------------------------------------------------
    size: int = 32  # images are size x size
    regions: int = 2  # n, the number of regions F splits an image into
    # --- mask network F (PSP-style, no spectral norm) ----------------------------------------
    f_channels: int = 32  # width after the last downsampling (official: 64)
    f_downs: int = 2  # stride-2 convs before the residual blocks (official: 2)
    f_res_blocks: int = 3
    f_ppm_bins: tuple = (1, 2, 3, 6)  # pyramid pooling scales; () switches the PPM off
    temperature: float = 1.0
    # generators fed one-hot argmax masks, their output still times the soft ones (not in the
    # paper; c2mnist-cpu: a generator cannot paint by soft-mask level)
    g_hard_input: bool = False
    # --- region generators G_k ----------------------------------------------------------------
    z_dim: int = 16
    g_channels: int = 8  # "ch" of the paper
    g_attention_at: int = 0  # resolution where self-attention sits in G (0: none)
    # --- discriminator D and z-encoder delta -------------------------------------------------
    d_channels: int = 16
    d_attention_at: int = 0  # resolution where self-attention sits in D (0: none)
    # --- optimisation -------------------------------------------------------------------------
    batch: int = 16
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    lr_z: float = 1e-4
    lr_f: float = 1e-5  # paper: 1e-5; the CPU presets measure their own
    wd_f: float = 1e-4  # weight decay on F only (coupled, Adam's weight_decay)
    betas: tuple = (0.0, 0.9)
    lambda_z: float = 5.0  # weight on mean((delta(I) - z)^2)
    init_gain: float = 0.8  # orthogonal init gain
    amp: bool = False  # the step's forward passes in bfloat16 autocast (train --amp; not in paper)
    f_ema: float = 0.0  # decay of a moving average of F's weights, evaluated beside the live F;
    # the better of the two goes to best.pt (0: off; not in the paper)
    # --- schedule, selection and collapse restart ---------------------------------------------
    steps: int = 20000
    eval_every: int = 500
    eval_images: int = 500  # validation images scored at each evaluation
    select_metric: str = "iou"
    restart_min_area: float = 0.0  # a region smaller than this = collapse (0: never restart)
    restart_on: str = "soft"  # "soft": mean soft mask (official); "hard": pixels won after argmax
    restart_after: int = 500  # check for collapse only from this step on ...
    restart_before: int = 7000  # ... and up to this one (the official code: 500 to 7000)
    max_restarts: int = 5
    log_every: int = 50

    # ------------------------------------------------------------------------------------------
    def __post_init__(self):
        self.f_ppm_bins = tuple(self.f_ppm_bins)
        self.betas = tuple(self.betas)
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"size must be a power of two >= 8, got {self.size}")
        if self.regions < 2:
            raise ValueError(f"regions must be >= 2, got {self.regions}")

    @property
    def g_blocks(self) -> int:
        """Up-blocks from the 4x4 seed to full size: 5 at 128 px, 3 at 32 px."""
        return int(math.log2(self.size // 4))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["f_ppm_bins"] = list(self.f_ppm_bins)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        d = _drop_retired(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        return cls(**d)

    def override(self, assignments: list[str]) -> Config:
        """A copy with ``KEY=VALUE`` settings applied (values parsed as JSON, else kept as text)."""
        d = self.to_dict()
        for item in assignments or []:
            key, sep, raw = item.partition("=")
            if not sep or key not in d:
                raise KeyError(
                    f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(d))}"
                )
            try:
                d[key] = json.loads(raw)
            except json.JSONDecodeError:
                d[key] = raw
        return Config.from_dict(d)

    def differences(self, other: dict) -> list[str]:
        """Names of the settings where a saved config (a dict) differs from this one."""
        try:
            theirs = Config.from_dict(other).to_dict()
        except (ValueError, TypeError) as e:
            return [f"unreadable ({e})"]
        mine = self.to_dict()
        return [k for k in mine if mine[k] != theirs[k]]

    def save(self, path: Path) -> None:
        from .checkpoint import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Config:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no config.json here; is this a run folder?") from None
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: not a valid redo_lite config ({e})") from None


# Settings of earlier releases, measured and removed (docs/c2mnist.md: they did not help). A saved
# config that holds one at its "off" value still loads; one that used it is refused by name.
RETIRED = {
    "hard_masks": False,
    "impurity_weight": 0.0,
    "impurity_start": None,
    "impurity_full": None,
}


def _drop_retired(d: dict) -> dict:
    used = [k for k, off in RETIRED.items() if k in d and off is not None and d[k] != off]
    if used:
        raise ValueError(
            f"uses {', '.join(f'{k}={d[k]!r}' for k in used)}, a setting this version no longer has"
        )
    return {k: v for k, v in d.items() if k not in RETIRED}


PRESETS: dict[str, Config] = {
    # Colored-2-MNIST at 32 px, sized for two CPU cores (docs: how c2mnist-cpu was found):
    # F keeps full resolution (strokes are 1-2 px wide at 32 px), learning rates 2e-4 and 4e-4
    # for D (a critic that keeps up), generators fed one-hot masks (no painting by mask level), a
    # critic 32 channels wide (it sees 1-pixel errors at the digits' edges), and a moving average
    # of F's weights evaluated beside the live F; a region that wins under 1% of the pixels
    # restarts the run, however much soft mask it keeps.
    "c2mnist-cpu": Config(
        preset="c2mnist-cpu",
        size=32,
        regions=3,
        z_dim=16,
        f_channels=32,
        f_downs=0,
        f_res_blocks=2,
        g_channels=8,
        d_channels=32,
        g_hard_input=True,
        f_ema=0.998,
        batch=16,
        lr_g=2e-4,
        lr_d=4e-4,
        lr_z=2e-4,
        lr_f=2e-4,
        steps=6000,
        eval_every=250,
        eval_images=300,
        restart_min_area=0.01,
        restart_on="hard",
        restart_after=500,
        restart_before=3000,
        max_restarts=3,
    ),
    # One textured shape on a textured background (n=2): the stepping stone that trains in minutes.
    "shapes-cpu": Config(
        preset="shapes-cpu",
        size=32,
        regions=2,
        z_dim=16,
        f_channels=32,
        f_downs=1,
        f_res_blocks=2,
        g_channels=8,
        d_channels=16,
        batch=16,
        lr_f=1e-4,
        steps=3000,
        eval_every=250,
        eval_images=300,
        restart_min_area=0.05,
        restart_after=500,
        restart_before=1500,
        max_restarts=3,
    ),
    # The paper's 128 px settings (official code where paper and code differ): batch 25, z 32,
    # G channels 32 (Flowers, CUB) or 64 (LFW), self-attention in G before its last up-block and
    # in D after its first block (64x64), D and δ 64 -> 1024 channels, F lr 1e-5, λ 5 (LFW 15).
    "flowers-paper": Config(
        preset="flowers-paper",
        size=128,
        regions=2,
        z_dim=32,
        f_channels=64,
        f_downs=2,
        f_res_blocks=3,
        g_channels=32,
        g_attention_at=64,
        d_channels=64,
        d_attention_at=64,
        batch=25,
        lr_f=1e-5,
        steps=40000,
        eval_every=500,
        eval_images=1020,
        restart_min_area=0.1,
        restart_before=7000,
        max_restarts=5,
    ),
}


PRESETS["cub-paper"] = Config.from_dict(
    {**PRESETS["flowers-paper"].to_dict(), "preset": "cub-paper", "eval_images": 788}
)
PRESETS["lfw-paper"] = Config.from_dict(
    {
        **PRESETS["flowers-paper"].to_dict(),
        "preset": "lfw-paper",
        "g_channels": 64,
        "lambda_z": 15.0,
        "eval_images": 1327,
    }
)
# The paper's toy at the paper's size: colored-2-MNIST at 128 px (data_prep.c2mnist --size 128) on
# the paper-size networks, three regions, z of 16 (paper §5.1). No official recipe exists for it;
# the restart watches the pixels each region wins (a digit covers a few % of the image, under the
# soft-area threshold the Flowers run uses). benchmarks/gpu_check.sh trains it for a few minutes.
PRESETS["c2mnist-paper"] = Config.from_dict(
    {
        **PRESETS["flowers-paper"].to_dict(),
        "preset": "c2mnist-paper",
        "regions": 3,
        "z_dim": 16,
        "steps": 20000,
        "eval_every": 250,
        "eval_images": 300,
        "restart_min_area": 0.01,
        "restart_on": "hard",
    }
)


def cpu_defaults(size: int, regions: int) -> Config:
    """Defaults for any folder of images when no preset is named: the CPU recipe, scaled."""
    base = PRESETS["c2mnist-cpu"].to_dict()
    base.update(
        preset=f"cpu-{size}px-{regions}r",
        size=size,
        regions=regions,
        restart_min_area=0.02 if regions > 2 else 0.05,
    )
    return Config.from_dict(base)


def get_preset(name: str) -> Config:
    try:
        return Config.from_dict(PRESETS[name].to_dict())
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None
