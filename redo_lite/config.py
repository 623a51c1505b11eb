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


class ConfigError(ValueError):
    """A setting of the wrong type or out of range; the message names it and what is allowed."""


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
    g_hard_input: bool = False  # generators fed one-hot argmax masks, their output still times
    # the soft ones (not in the paper; c2mnist-cpu: a generator cannot paint by soft-mask level)
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
    amp: bool = False  # the step's forward passes in bfloat16 autocast (train --amp; not in the
    # paper: the official code runs in float32)
    self_train_steps: int = 0  # a phase after ReDO: steps of F trained on its own colour-filtered
    # masks, written to RUN/selftrained (0: off; not in the paper; beyond/selftrain.py)
    self_train_images: int = 2000  # training images labelled for it (not in the paper)
    self_train_passes: int = 1  # passes of the colour filter that makes its labels (not in the
    # paper)
    f_ema: float = 0.0  # decay of a moving average of F's weights, evaluated beside the live F;
    # the better of the two goes to best.pt (0: off; not in the paper)
    # --- schedule, selection and collapse restart ---------------------------------------------
    steps: int = 20000
    eval_every: int = 500
    eval_images: int = 500  # validation images scored at each evaluation
    select_metric: str = "iou"
    restart_min_area: float = 0.0  # a region smaller than this = collapse (0: never restart)
    restart_on: str = "soft"  # "soft": mean soft mask (official); "hard": pixels won after argmax
    # (the "hard" choice is not in the paper)
    restart_min_iou: float = 0.0  # with labelled validation images: a class no region covers
    # (its IoU at the best permutation below this) = collapse too (0: off; not in the paper)
    restart_patience: int = 1  # a collapse seen at this many evaluations in a row restarts
    # (1: at once, the official rule; not in the paper above 1)
    restart_after: int = 500  # check for collapse only from this step on ...
    restart_before: int = 7000  # ... and up to this one (the official code: 500 to 7000)
    max_restarts: int = 5  # then train on without restarting (the official code has no bound)
    log_every: int = 50

    # ------------------------------------------------------------------------------------------
    def __post_init__(self):
        for name, value in check_settings(dataclasses.asdict(self)).items():
            setattr(self, name, value)

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
        if not isinstance(d, dict):
            raise ConfigError(f"expected a JSON object of settings, got {type(d).__name__}")
        d = _drop_retired(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**d)

    def override(self, assignments: list[str]) -> Config:
        """A copy with ``KEY=VALUE`` settings applied (values parsed as JSON, else kept as text),
        every value checked for type and range before anything uses it."""
        d = self.to_dict()
        for item in assignments or []:
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or key not in d:
                raise ConfigError(
                    f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(d))}"
                )
            try:
                d[key] = json.loads(raw)
            except (json.JSONDecodeError, RecursionError):
                d[key] = raw
            try:
                check_settings({key: d[key]})
            except ConfigError as e:
                raise ConfigError(f"--set {item!r}: {e}") from None
        try:
            return Config.from_dict(d)
        except ConfigError as e:
            raise ConfigError(f"--set {' '.join(assignments)}: {e}") from None

    def differences(self, other: dict) -> list[str]:
        """Names of the settings where a saved config (a dict) differs from this one."""
        try:
            theirs = Config.from_dict(other).to_dict()
        except ConfigError as e:
            return [f"unreadable ({e})"]
        mine = self.to_dict()
        return [k for k in mine if mine[k] != theirs[k]]

    def save(self, path: Path, overwrite: bool = True) -> None:
        """``config.json``, written atomically (``files.atomic_write``); ``overwrite=False``:
        refused if a file is already there."""
        from .files import atomic_write_text, json_text

        atomic_write_text(Path(path), json_text(self.to_dict(), indent=2) + "\n", overwrite)

    @classmethod
    def load(cls, path: Path) -> Config:
        """The settings of a run folder's ``config.json``; anything wrong names the file."""
        from .files import read_text

        path = Path(path)
        try:
            return cls.from_dict(json.loads(read_text(path, what="config.json")))
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
            ) from None
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None


# --- every setting's type and allowed range ----------------------------------------------------
# (kind, low, high): a value outside [low, high] is refused with the range in the message; an open
# bound is None; "pos" means strictly above 0.
RULES: dict[str, tuple] = {
    "preset": ("str", None, None),
    "size": ("pow2", 8, 1024),
    "regions": ("int", 2, 6),  # scoring tries all n! region assignments (720 at 6)
    "f_channels": ("int", 1, 1024),  # (upper bounds: far beyond the paper, short of memory)
    "f_downs": ("int", 0, 8),
    "f_res_blocks": ("int", 0, 64),
    "f_ppm_bins": ("ints", 1, 64),
    "temperature": ("float", "pos", 1e6),
    "g_hard_input": ("bool", None, None),
    "z_dim": ("int", 1, 1024),
    "g_channels": ("int", 1, 1024),
    "g_attention_at": ("int", 0, 1024),
    "d_channels": ("int", 1, 1024),
    "d_attention_at": ("int", 0, 1024),
    "batch": ("int", 1, 1024),
    "lr_g": ("float", "pos", 1.0),
    "lr_d": ("float", "pos", 1.0),
    "lr_z": ("float", "pos", 1.0),
    "lr_f": ("float", "pos", 1.0),
    "wd_f": ("float", 0, 1.0),
    "betas": ("betas", 0, 1),
    "lambda_z": ("float", 0, 1e6),
    "init_gain": ("float", "pos", 100.0),
    "amp": ("bool", None, None),
    "f_ema": ("float", 0, 0.999999),
    "self_train_steps": ("int", 0, 10**7),
    "self_train_images": ("int", 1, 10**7),
    "self_train_passes": ("int", 1, 1000),
    "steps": ("int", 1, 10**9),
    "eval_every": ("int", 1, 10**9),
    "eval_images": ("int", 1, 10**9),
    "select_metric": ("choice", ("iou", "iou_split", "acc", "acc_split"), None),
    "restart_min_area": ("float", 0, 1.0),  # 1: every check restarts (the smallest area < 1)
    "restart_on": ("choice", ("soft", "hard"), None),
    "restart_min_iou": ("float", 0, 1.0),
    "restart_patience": ("int", 1, 1000),
    "restart_after": ("int", 0, 10**9),
    "restart_before": ("int", 0, 10**9),
    "max_restarts": ("int", 0, 1000),
    "log_every": ("int", 1, 10**9),
}


def _range(low, high) -> str:
    if low == "pos":
        return f"above 0 and at most {high:g}"
    return f"from {low:g} to {high:g}" if high < 10**9 else f"of at least {low:g}"


def _check(name: str, v):
    """One setting, checked and normalised (ints given for floats become floats; lists tuples)."""
    kind, low, high = RULES[name]
    if kind == "str":
        if not isinstance(v, str) or not v.strip() or "\n" in v or len(v) > 100:
            raise ConfigError(f"{name}: expected a name (one line of text), got {v!r}")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise ConfigError(f"{name}: expected true or false, got {v!r}")
        return v
    if kind == "choice":
        if v not in low:
            raise ConfigError(f"{name}: expected one of {', '.join(low)}, got {v!r}")
        return v
    if kind in ("int", "pow2"):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{name}: expected a whole number {_range(low, high)}, got {v!r}")
        if not low <= v <= high or (kind == "pow2" and v & (v - 1)):
            what = "a power of two" if kind == "pow2" else "a whole number"
            raise ConfigError(f"{name}: expected {what} {_range(low, high)}, got {v}")
        return v
    if kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{name}: expected a number {_range(low, high)}, got {v!r}")
        v = float(v)
        if not math.isfinite(v) or (v <= 0 if low == "pos" else v < low) or v > high:
            raise ConfigError(f"{name}: expected a number {_range(low, high)}, got {v!r}")
        return v
    if kind == "ints":  # f_ppm_bins: a list of pooling sizes, possibly empty
        if not isinstance(v, (list, tuple)) or not all(
            isinstance(b, int) and not isinstance(b, bool) and low <= b <= high for b in v
        ):
            raise ConfigError(
                f"{name}: expected a list of whole numbers {_range(low, high)} "
                f"(e.g. [1, 2, 3, 6], or [] for none), got {v!r}"
            )
        return tuple(v)
    if kind == "betas":
        if (
            not isinstance(v, (list, tuple))
            or len(v) != 2
            or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in v
            )
        ):
            raise ConfigError(f"{name}: expected two numbers in [0, 1), e.g. [0, 0.9], got {v!r}")
        return tuple(float(b) for b in v)
    raise AssertionError(kind)


def check_settings(d: dict) -> dict:
    """Every setting of ``d`` checked (and normalised); then the rules that tie settings together.
    Raises ConfigError naming the setting, the value and what is allowed."""
    out = {k: _check(k, v) for k, v in d.items() if k in RULES}
    size = out.get("size")
    if size is not None:
        # input of G's up-block i is 4 * 2**i; D's blocks see size/2 ... 4
        for key in ("g_attention_at", "d_attention_at"):
            at = out.get(key)
            if at and (at & (at - 1) or not 4 <= at <= size // 2):
                raise ConfigError(
                    f"{key}: expected 0 (none) or a power of two from 4 to {size // 2} "
                    f"(a resolution inside the network at size {size}), got {at}"
                )
        downs = out.get("f_downs")
        if downs is not None and size >> downs < 4:
            raise ConfigError(
                f"f_downs: expected at most {int(math.log2(size)) - 2} at size {size} "
                f"(F's features must stay at least 4 px wide), got {downs}"
            )
        if downs is not None and out.get("f_channels", 2**downs) < 2**downs:
            raise ConfigError(
                f"f_channels: expected at least {2**downs} with f_downs {downs} "
                f"(F halves its width at each downsampling), got {out['f_channels']}"
            )
    return out


# Settings of earlier releases, measured and removed (docs/log/c2mnist.md: they did not help). A
# saved config that holds one at its "off" value still loads; one that used it is refused by name.
RETIRED = {
    "hard_masks": False,
    "impurity_weight": 0.0,
    "impurity_start": None,
    "impurity_full": None,
    "area_floor": 0.0,  # a floor on each region's share of the pixels (docs/log: not kept)
    "area_weight": None,
}


def _drop_retired(d: dict) -> dict:
    used = [k for k, off in RETIRED.items() if k in d and off is not None and d[k] != off]
    if used:
        raise ConfigError(
            f"uses {', '.join(f'{k}={d[k]!r}' for k in used)}, a setting this version no longer has"
        )
    return {k: v for k, v in d.items() if k not in RETIRED}


PRESETS: dict[str, Config] = {
    # Colored-2-MNIST at 32 px, sized for two CPU cores (docs: how c2mnist-cpu was found):
    # F keeps full resolution (strokes are 1-2 px wide at 32 px), learning rates 2e-4 for G and
    # delta, 4e-4 for D (a critic that keeps up) and for F (both digits found sooner: docs/log/
    # c2mnist-sample-efficiency.md), generators fed one-hot masks (no painting by mask level), a
    # critic 32 channels wide (it sees 1-pixel errors at the digits' edges), and a moving average
    # of F's weights evaluated beside the live F; a region that wins under 1% of the pixels
    # restarts the run, however much soft mask it keeps, checked from the first evaluation on
    # (step 100) and acted on when two evaluations in a row show it (a collapsed run costs 200
    # steps, not 500; a region that dips under 1% for one evaluation and recovers is left to
    # train: not in the paper, docs/results.md), with an evaluation every 100 steps
    # (the official code: every 500 from step 500; a finer selection counts for "the best
    # model within N steps", docs/results.md); bf16 autocast where the CPU has bf16
    # instructions (half the step time on one core, docs/log/c2mnist.md); and, as a phase after
    # ReDO that `train` runs into RUN/selftrained, F self-trained for 100 steps on its own masks
    # filtered 8 times by the images' colours (a digit's one colour carries a region that holds
    # part of it out to the whole stroke; beyond/selftrain.py; not in the paper).
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
        amp=True,
        self_train_steps=100,
        self_train_images=2000,
        self_train_passes=8,
        batch=16,
        lr_g=2e-4,
        lr_d=4e-4,
        lr_z=2e-4,
        lr_f=4e-4,
        steps=6000,
        eval_every=100,
        eval_images=300,
        restart_min_area=0.01,
        restart_on="hard",
        restart_patience=2,
        restart_after=100,
        restart_before=3000,
        max_restarts=3,
    ),
    # The smallest model that runs every code path (16 px, 3 regions, a few channels): the tests,
    # the notebooks' exercise checks and the command-line probes train it in seconds. It learns
    # nothing worth scoring.
    "tiny": Config(
        preset="tiny",
        size=16,
        regions=3,
        z_dim=4,
        f_channels=8,
        f_downs=1,
        f_res_blocks=1,
        g_channels=4,
        d_channels=4,
        batch=4,
        lr_f=1e-4,
        steps=6,
        eval_every=3,
        eval_images=8,
        log_every=2,
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
# soft-area threshold the Flowers run uses).
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
    """Defaults for any folder of images when no preset is named, sized for a CPU.

    Two regions (one object on its background): ``shapes-cpu``'s networks with a heavier
    information term (λ_z = 40: it holds the object region at the object's size), the learning
    rates of ``c2mnist-cpu`` (a critic at twice the generators' rate), bf16 and, as a phase
    after ReDO, self-training on labels filtered 32 times by the image's colours (ReDO places a
    blob on the object; the filter carries it out to the object's edges). More regions:
    ``c2mnist-cpu`` with the restart threshold set by the number of regions. docs/results.md
    measures both (not in the paper: docs/faithful.md, beyond the paper)."""
    if regions == 2:
        base = PRESETS["shapes-cpu"].to_dict()
        base.update(
            amp=True,
            lambda_z=40.0,
            lr_g=2e-4,
            lr_z=2e-4,
            lr_d=4e-4,
            self_train_steps=1500,
            self_train_images=2000,
            self_train_passes=32,
            steps=6000,
        )
    else:
        base = PRESETS["c2mnist-cpu"].to_dict()
        base.update(restart_min_area=0.02)
    base.update(preset=f"cpu-{size}px-{regions}r", size=size, regions=regions)
    return Config.from_dict(base)


def get_preset(name: str) -> Config:
    try:
        return Config.from_dict(PRESETS[name].to_dict())
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None
