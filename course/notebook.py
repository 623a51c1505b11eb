"""What the notebooks call in one line besides the checks: fast-mode parameters, finding the
course folder, building colored-2-MNIST, showing images, the z explorer, training curves."""

from __future__ import annotations

import io
import os

import torch


def env(name: str, default):
    """A notebook parameter: the environment variable ``name`` if set (cast to the default's type),
    else ``default``. With REDO_FAST=1 the notebooks pick their fast values."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return (
        type(default)(raw)
        if not isinstance(default, bool)
        else raw not in ("0", "false", "False", "")
    )


# ---------------------------------------------------------------------------------------------
# Seeing what z does: a static sweep and live sliders
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def redraw_with(nets: dict, image: torch.Tensor, region: int, z: torch.Tensor) -> torch.Tensor:
    """One image (3,H,W in [-1,1]) with ``region`` redrawn from z (n, z_dim): 3,H,W in [0,1] on the
    CPU, whatever device the networks are on."""
    from redo_lite.data import to_unit
    from redo_lite.process import redraw_all

    dev = next(nets["F"].parameters()).device
    x = image[None].to(dev)
    masks = nets["F"](x)
    return to_unit(redraw_all(x, masks, nets["G"](masks, z[None].to(dev)))[0, region]).cpu()


@torch.no_grad()
def z_sweep(
    nets: dict, image: torch.Tensor, dims=(0, 1, 2), values=(-2.0, -1.0, 0.0, 1.0, 2.0), seed=0
):
    """A static grid: one row per (region, z dimension), one column per value of that dimension,
    the rest of z fixed. Returns (grid 3,H,W in [0,1], row labels)."""
    from torchvision.utils import make_grid

    n, z_dim = len(nets["G"].gens), nets["G"].z_dim
    z0 = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    tiles, labels = [], []
    for k in range(n):
        for d in dims:
            for v in values:
                z = z0.clone()
                z[k, d] = v
                tiles.append(redraw_with(nets, image, k, z))
            labels.append(f"region {k}, z[{d}]")
    return make_grid(torch.stack(tiles), nrow=len(values), padding=1, pad_value=1.0), labels


def _png(img: torch.Tensor, scale: int = 6) -> bytes:
    from PIL import Image

    arr = (img.clamp(0, 1) * 255).byte().permute(1, 2, 0).cpu().numpy()
    pil = Image.fromarray(arr).resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def z_explorer(nets: dict, image: torch.Tensor, dims: int = 4, seed: int = 0):
    """ipywidgets: a region selector and sliders over the first ``dims`` entries of that region's
    z_k; the redrawn image updates live. The rest of z stays fixed."""
    import ipywidgets as W

    n, z_dim = len(nets["G"].gens), nets["G"].z_dim
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    region = W.Dropdown(
        options=[(f"region {k}", k) for k in range(n)], value=0, description="region"
    )
    sliders = [
        W.FloatSlider(
            value=0.0, min=-3, max=3, step=0.1, description=f"z[{d}]", continuous_update=True
        )
        for d in range(dims)
    ]
    picture = W.Image(format="png")

    def redraw(_=None):
        k = region.value
        zk = z.clone()
        for d, s in enumerate(sliders):
            zk[k, d] = s.value
        picture.value = _png(redraw_with(nets, image, k, zk))

    def on_region(_):  # show the chosen region's own z values
        for d, s in enumerate(sliders):
            s.unobserve(redraw, "value")
            s.value = round(float(z[region.value, d]), 1)
            s.observe(redraw, "value")
        redraw()

    region.observe(on_region, "value")
    for s in sliders:
        s.observe(redraw, "value")
    on_region(None)
    return W.HBox([picture, W.VBox([region, *sliders])])


def repo_root():
    """Change to the course's root folder (where data/ and checkpoints/ live) and return it,
    whether the notebook runs from notebooks/, solutions/ or the root itself."""
    from pathlib import Path

    here = Path.cwd().resolve()
    if os.environ.get("REDO_ROOT"):  # set by tests that run a copy of a notebook elsewhere
        here = Path(os.environ["REDO_ROOT"]).resolve()
    for p in (here, *here.parents):
        if (p / "redo_lite").is_dir() and (p / "pyproject.toml").exists():
            os.chdir(p)
            return p
    raise FileNotFoundError(
        f"{here}: not inside the redo-course folder (no redo_lite/ and pyproject.toml above)"
    )


def ensure_c2mnist(path: str = "data/c2mnist32", size: int = 32):
    """Build colored-2-MNIST at ``path`` unless it is already there (half a minute to two minutes).
    What is at ``path`` is identified first, by its ``info.json``: another data set, or
    colored-2-MNIST of another size, is refused (pass another path; nothing there is touched);
    a copy built by the first release (broken digit strokes: colored-2-MNIST with no
    ``digit_min_cover``) is not used: the error says to move it aside. A folder without
    ``info.json`` is left to ``data_prep``, which builds only into a new or empty folder or one
    of its own builds cut short."""
    import json
    from pathlib import Path

    from redo_lite.files import read_text

    info = Path(path) / "info.json"
    if not (info.exists() or info.is_symlink()):
        from data_prep.c2mnist import build

        build(Path(path), size=size, seed=0)
        return path
    try:
        meta = json.loads(read_text(info, "info.json", RuntimeError))
    except json.JSONDecodeError as e:
        raise RuntimeError(f"{info}: not valid JSON ({e.msg}, line {e.lineno})") from None
    name = meta.get("name") if isinstance(meta, dict) else None
    if name != "colored-2-MNIST":
        raise RuntimeError(
            f"{path}: holds another data set ({name!r} in its info.json), not colored-2-MNIST; "
            "pass ensure_c2mnist another path (nothing here was touched)"
        )
    if meta.get("size") != size:
        raise RuntimeError(
            f"{path}: holds colored-2-MNIST at {meta.get('size')} px, not {size} px; pass "
            "ensure_c2mnist another path, or size="
            f"{meta.get('size')} (nothing here was touched)"
        )
    if "digit_min_cover" not in meta:
        raise RuntimeError(
            f"{info}: built by the course's first release (colored-2-MNIST with broken digit "
            f"strokes); move {path} aside and run this cell again to build the current data set"
        )
    return path


def show(img: torch.Tensor, title: str = "", ax=None, size: float = 3.0):
    """Show a 3,H,W (or H,W) tensor in [0, 1] with matplotlib."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(size * img.shape[-1] / img.shape[-2], size))
    ax.imshow(
        img.permute(1, 2, 0).cpu().numpy() if img.dim() == 3 else img.cpu().numpy(),
        interpolation="nearest",
    )
    ax.set_title(title)
    ax.axis("off")
    return ax


def read_log(run) -> list[dict]:
    import json
    from pathlib import Path

    path = Path(run) / "metrics.jsonl"
    return (
        [json.loads(row) for row in path.read_text().splitlines() if row.strip()]
        if path.exists()
        else []
    )


def _mark_restarts(ax, rows) -> None:
    """A dashed vertical line at every restart of the run (all attempts share one time line)."""
    for r in rows:
        if r["kind"] == "restart":
            ax.axvline(r["total_steps"], color="crimson", ls="--", lw=1)


def plot_history(run, fig=None):
    """Losses and validation IoU of a run folder against steps (all attempts in one time line;
    a dashed red line marks each restart, a dotted one δ's chance level λ)."""
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    rows = read_log(run)
    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    fig = fig or plt.figure(figsize=(11, 3))
    fig.clf()
    ax = fig.subplots(1, 3)

    def curve(a, rows_, key, style, label, colour):
        for att in sorted({r["attempt"] for r in rows_}):  # a restart starts new networks
            part = [r for r in rows_ if r["attempt"] == att]
            a.plot(
                [r["total_steps"] for r in part],
                [r[key] for r in part],
                style if len(part) > 1 else style[0] if style[0] in "os" else ".",
                color=colour,
                label=label if att == rows_[0]["attempt"] else None,
            )

    for key, colour in (("loss_g", "C0"), ("loss_d", "C1")):
        curve(ax[0], train, key, "-", key, colour)
    ax[0].set_title("hinge losses")
    curve(ax[1], train, "loss_z", "-", None, "C0")
    ax[1].set_title("information conservation λ·mse")
    config = Path(run) / "config.json"
    if config.exists():  # δ's chance level: λ (notebook 08)
        lam = json.loads(config.read_text())["lambda_z"]
        ax[1].axhline(lam, color="crimson", ls=":", lw=1, label="chance (λ)")
        ax[1].set_ylim(bottom=0)  # the chance line stays in view below the curve
        ax[1].legend()
    curve(ax[2], evals, "iou", "o-", "per image", "C0")
    curve(ax[2], evals, "iou_split", "s--", "one permutation", "C1")
    ax[2].set_title("validation IoU (objects)")
    ax[2].set_ylim(0, 1)
    if train:
        ax[0].legend()
    if evals:
        ax[2].legend()
    for a, unit in zip(ax, ("loss", "λ · mean squared error", "digit IoU"), strict=True):
        a.set_xlabel("step (all attempts)")
        a.set_ylabel(unit)
        _mark_restarts(a, rows)
    fig.tight_layout()
    return fig


def live_plot(trainer):
    """A ``Trainer.fit`` callback that redraws the history after every evaluation, in place (one
    display updated), so that what the Trainer prints meanwhile (restarts) stays on screen."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = plot_history(trainer.run)
    handle = getattr(trainer, "_live_display", None)
    if handle is None:
        trainer._live_display = display(fig, display_id=True)
    else:
        handle.update(fig)
    plt.close(fig)


def plot_areas(run, ax=None):
    """Each region's share of the validation pixels over training: won after argmax (solid) and
    mean soft mask (dashed), from the run's evaluation rows (log scale, floored at 0.001); the
    collapse threshold, the steps where the restart rule applies (shaded, per attempt, up to the
    run's last step, where the x-axis ends) and the restarts (dashed red lines)."""
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    from redo_lite.viz import PALETTE

    rows = read_log(run)
    evals = [r for r in rows if r["kind"] in ("eval", "areas")]
    cfg = json.loads((Path(run) / "config.json").read_text())
    ax = ax or plt.subplots(figsize=(9, 3.6))[1]
    attempts = sorted({r["attempt"] for r in evals})
    for k in range(len(evals[0]["areas"]) if evals else 0):
        colour = PALETTE[k % len(PALETTE)].tolist()
        for a in attempts:  # one line per attempt: a restart starts new networks
            rows_a = [r for r in evals if r["attempt"] == a]
            steps = [r["total_steps"] for r in rows_a]
            first = a == attempts[0]
            won = [max(r["areas"][k], 1e-3) for r in rows_a]
            soft = [max(r["soft_areas"][k], 1e-3) for r in rows_a]
            ax.plot(
                steps,
                won,
                "-o",
                ms=3,
                color=colour,
                label=f"region {k}: pixels won" if first else None,
            )
            ax.plot(
                steps, soft, "--", color=colour, label=f"region {k}: soft mask" if first else None
            )
    last = max((r.get("total_steps", 0) for r in rows), default=0)  # the run's last step
    if cfg.get("restart_min_area", 0) > 0:
        ax.axhline(cfg["restart_min_area"], color="k", lw=0.8, ls=":", label="restart threshold")
        starts = {}
        for r in rows:
            starts.setdefault(r["attempt"], r["total_steps"] - r["step"])
        for offset in starts.values():  # only the part of each window the run reached
            lo, hi = offset + cfg["restart_after"], min(offset + cfg["restart_before"], last)
            if hi > lo:
                ax.axvspan(lo, hi, color="0.92", zorder=0)
    _mark_restarts(ax, rows)
    ax.set_xlim(0, max(last, 1) * 1.02)  # the run's own steps, however short
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 1.5)
    if ax.patches or not cfg.get("restart_min_area", 0) > 0:
        ax.set_xlabel("step (all attempts); shaded: where the restart rule applies")
    else:  # a run too short to reach the window says where it would start
        start = cfg["restart_after"]
        ax.set_xlabel(f"step (all attempts); the restart rule applies from step {start}")
    ax.set_ylabel("share of the image")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


# ---------------------------------------------------------------------------------------------
# Which model to show: the learner's own run, or the one that ships with the course
# ---------------------------------------------------------------------------------------------
SHIPPED = "checkpoints/c2mnist-cpu"


def run_failure(run, shipped: str = SHIPPED, barely: float = 0.5, min_iou: float = 0.1):
    """Why a run folder's selected model (``best.pt``) is a failed run, in one line, or None when
    nothing says so. It failed when it **barely trained** (its validation IoU under ``barely``
    times the shipped model's), or when it **collapsed** (a region wins under the run's
    ``restart_min_area``, else 1%, of the validation pixels; or a class of the truth is covered by
    no region: its IoU at the best permutation under ``min_iou``). Read from the scores saved
    with the model, the ones the Trainer's restart rule reads
    (``redo_lite.evaluation.collapse_signs``)."""
    import json
    from pathlib import Path

    from redo_lite.checkpoint import load
    from redo_lite.evaluation import collapse_signs

    best = Path(run) / "best.pt"
    if not best.exists():
        return None
    m = load(best).get("metrics") or {}
    try:
        cfg = json.loads((Path(run) / "config.json").read_text())
    except (OSError, ValueError):
        cfg = {}
    min_area = cfg.get("restart_min_area") or 0.01
    names = None
    if m.get("iou_split_regions") is not None:
        names = ["background", "even digit", "odd digit"][: len(m["iou_split_regions"])]
    mine = m.get("iou")
    ref = Path(shipped) / "best.pt"
    theirs = load(ref).get("metrics", {}).get("iou") if ref.exists() else None
    if mine is not None and theirs is not None and mine < barely * theirs:
        return (
            f"barely trained: validation IoU {mine:.3f}, below {barely:g} x the shipped "
            f"model's {theirs:.3f}"
        )
    signs = collapse_signs(m, min_area, "hard", min_iou, names) if m.get("areas") else []
    if signs:
        return "collapsed: " + "; ".join(signs)
    return None


def pick_run(run=None, shipped: str = SHIPPED, barely: float = 0.5) -> tuple[str, str]:
    """(run folder, message): ``run`` when it holds a trained model (``best.pt``, the networks
    selected on validation, else ``last.pt``), otherwise the shipped model. The message says which
    one and why; the notebooks print it above every picture of "your" model. When the run failed
    (``run_failure``: it collapsed, or it barely trained) or no validation score exists yet, a
    WARNING line says so and what to do: every reading of it then describes a failed run, not
    ReDO, and the notebooks show the shipped model beside it."""
    from pathlib import Path

    from redo_lite.checkpoint import load

    if run is None or str(run).strip() == "":
        asked = "USE_SHIPPED = True or no run folder given"
        return str(shipped), f"the shipped model, {shipped} ({asked})"
    run = Path(run)
    best, last = run / "best.pt", run / "last.pt"
    advice = (
        "train again with another SEED (or more steps) in notebook 08, or set USE_SHIPPED = True "
        f"to study the shipped ReDO model, {shipped}"
    )
    if best.exists():
        state = load(best)
        where = f"step {state.get('step', '?')} of attempt {state.get('attempt', '?')}"
        if str(state.get("F_source", "")).startswith("self-trained"):
            where += ", then self-trained"  # a self-training phase after ReDO (beyond the paper)
        why = f"your model, {best} (the networks selected on validation, {where})"
        failed = run_failure(run, shipped, barely)
        if failed:
            what = failed if failed.startswith("barely") else f"FAILED ({failed})"
            why += (
                f"\nWARNING: this run {what}; what follows reads a failed run, not what ReDO "
                f"does: {advice}"
            )
        return str(run), why
    if last.exists():
        return str(run), (
            f"your model, {last} (no best.pt: no validation score recorded yet)\n"
            f"WARNING: this run barely trained (it never reached a validation score); {advice}"
        )
    return str(shipped), (
        f"the shipped model, {shipped} ({run} holds no trained model: train it in notebook 08)"
    )


def benchmark_pace(preset: str = "c2mnist-cpu", folder="benchmarks/results") -> dict | None:
    """The pace the repository's benchmarks measured for ``preset``, read from every
    ``folder/*.json`` that records seeds with their ``ms_per_step``: the fastest and slowest
    seed's ms a step (evaluations and restarts included), the file, its machine, how many runs
    shared it and at how many threads each. None when no file records one."""
    import json
    from pathlib import Path

    found = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            top = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(top, dict) or top.get("preset") != preset or top.get("settings"):
            continue  # another preset, or the preset with settings changed: another pace
        ms = [e["ms_per_step"] for e in top.get("seeds", []) if isinstance(e, dict)
              and isinstance(e.get("ms_per_step"), (int, float))]  # fmt: skip
        if ms:
            found.append(
                {
                    "file": str(path),
                    "low": min(ms),
                    "high": max(ms),
                    "seeds": len(ms),
                    "machine": top.get("machine", "?"),
                    "jobs": top.get("jobs"),
                    "threads": top.get("threads"),
                    "command": top.get("command", ""),
                }  # fmt: skip
            )
    return found[0] if found else None


def pace_note(
    steps: int, seconds: float, total: int, preset: str = "c2mnist-cpu", folder="benchmarks/results"
) -> str:
    """What ``steps`` steps in ``seconds`` say about a run of ``total`` steps on this machine: the
    pace and the expected wall time, beside the pace the benchmark recorded for ``preset``
    (``benchmark_pace``) and the time ``total`` steps took there."""
    mine = 1000 * seconds / max(steps, 1)

    def minutes(ms):
        m = ms * total / 60000
        return f"{m:.0f}" if m >= 10 else f"{m:.1f}"

    lines = [
        f"this machine: {mine:.0f} ms a step over the first {steps} steps; {total} steps will "
        f"take about {minutes(mine)} minutes, evaluations not counted"
    ]
    ref = benchmark_pace(preset, folder)
    if ref is None:
        lines.append(f"(no benchmark of {preset} recorded under {folder} to compare with)")
        return "\n".join(lines)
    shared = f", {ref['jobs']} runs sharing it" if ref.get("jobs") else ""
    lines.append(
        f"the benchmark ({ref['file']}: {ref['machine']}{shared}, {ref['threads']} thread(s) "
        f"each): {ref['low']:.0f}-{ref['high']:.0f} ms a step over {ref['seeds']} seeds, so "
        f"{total} steps took about {minutes(ref['low'])}-{minutes(ref['high'])} minutes"
    )
    ratio = mine / ref["high"]
    if ratio > 1.5:
        lines.append(
            f"this machine is {ratio:.1f}x slower than the benchmark's slowest seed (a busy or "
            "slower CPU): the model will be the same, only later. Interrupt and lower the steps, "
            "or set USE_SHIPPED = True, if that is too long to wait"
        )
    return "\n".join(lines)


def benchmark_note(path="benchmarks/results/c2mnist_cpu_steps.json", seed: int = 0) -> str:
    """What the benchmark recorded for ``seed`` (the command, then every IoU, accuracy, restart
    count and time it holds for that seed), or a line saying that none is recorded. Numbers are
    read from the file; nothing is assumed about it beyond JSON."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return (
            f"no benchmark recorded yet on this copy ({path} does not exist): the figures measured "
            "for this preset, each with the command that printed it, are in docs/results.md "
            '("From scratch": several seeds trained from scratch) and docs/log/cpu-preset.md'
        )
    try:
        top = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return f"no benchmark recorded yet ({path} is unreadable: {type(e).__name__})"
    if not isinstance(top, dict):
        return f"no benchmark recorded yet ({path} holds no JSON object)"
    lists = [top[k] for k in ("seeds", "runs", "results") if isinstance(top.get(k), list)]
    entries = lists[0] if lists else []
    mine = [e for e in entries if isinstance(e, dict) and e.get("seed") == seed]
    lines = [f"benchmark {path}" + (f": {top['command']}" if "command" in top else "")]
    if entries and not mine:
        seeds = [e.get("seed") for e in entries if isinstance(e, dict)]
        lines.append(f"  seed {seed} is not among the seeds recorded ({seeds})")
    source = mine[0] if mine else {k: v for k, v in top.items() if k not in ("seeds", "runs")}
    if mine:
        lines.append(
            f"  seed {seed} (a name with 'val' is a validation figure; 'within_N_steps' and "
            "'within_N_min' hold the test scores of the model the benchmark kept within N steps "
            "or minutes, self-trained where that beat ReDO on validation ('selected' says which); "
            "'..._redo_alone' holds ReDO's own model, what your run's best.pt is)"
        )
    keys = ("iou", "acc", "restart", "minutes", "steps")

    def walk(d, prefix=""):
        for k, v in d.items():
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                yield from walk(v, name + " / ")
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                if any(w in str(k).lower() for w in keys):
                    yield f"  {name}: {v:.3f}" if isinstance(v, float) else f"  {name}: {v}"
            elif k == "selected" and isinstance(v, str):  # which model a within_N figure is
                said = " (ReDO, then self-trained: beyond the paper)" if "self-trained" in v else ""
                yield f"  {name}: {v}{said}"
            elif k == "reached_at" and isinstance(v, str):  # the steps and minutes it took
                yield f"  {name}: {v}"

    found = list(walk(source))
    lines += found or ["  (no IoU, accuracy, restart or time figure found in it)"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Pictures in one call: a row of panels, and the paper's Figure 2 with its columns named
# ---------------------------------------------------------------------------------------------
def show_row(
    panels, titles, title=None, legend=None, size=2.6, show=True, min_range=None, **imshow
):
    """One row of pictures, each with its title. A 3,H,W float tensor is an image in [-1, 1]; an
    integer H,W tensor a label map in the course's region colours (``legend``: the name of each
    colour, drawn once beside the row); a bool H,W tensor a framed white-on-black map (white: true,
    said in its title); a float H,W tensor
    a map with its colour bar (``imshow`` keywords such as cmap, vmin, vmax). ``min_range``: the
    least span of a float map's own colour scale (centred on its values), so that a map that is
    flat, or flat but for rounding, is drawn as one colour and not stretched into speckle.
    ``show=False`` returns the figure undrawn, to add to it."""
    import matplotlib.pyplot as plt

    from redo_lite.data import to_unit
    from redo_lite.viz import PALETTE

    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels) + 1, size + 0.4))
    for ax, p, t in zip(list(getattr(axes, "flat", [axes])), panels, titles, strict=True):
        p = p.detach().cpu()
        if p.dim() == 3:
            ax.imshow(to_unit(p).clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
        elif p.dtype == torch.bool:  # true/false: grey scale, framed, its key in the title
            ax.imshow(p.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            t = f"{t}\n(white: yes)"
        elif not p.is_floating_point():
            ax.imshow(PALETTE[p.long() % len(PALETTE)].numpy(), interpolation="nearest")
        else:
            scale = {}
            lo, hi = p.min().item(), p.max().item()
            if min_range and "vmin" not in imshow and hi - lo < min_range:
                mid = (lo + hi) / 2
                scale = {"vmin": mid - min_range / 2, "vmax": mid + min_range / 2}
            im = ax.imshow(
                p.numpy(), interpolation="nearest", **{"cmap": "viridis", **scale, **imshow}
            )
            bar = fig.colorbar(im, ax=ax, fraction=0.046)
            ticks = bar.ax.yaxis.get_major_formatter()
            if hasattr(ticks, "set_useOffset"):  # no "+1.234e-1" above the bar, over the title
                ticks.set_useOffset(False)
        ax.set_title(t, fontsize=10)
        if p.dtype == torch.bool:  # a frame, so that a white region at the edge shows its border
            ax.set_xticks([]), ax.set_yticks([])
        else:
            ax.axis("off")
    if legend:
        handles = [
            plt.Rectangle((0, 0), 1, 1, color=PALETTE[k].tolist()) for k in range(len(legend))
        ]
        fig.legend(handles, legend, loc="lower center", ncol=len(legend), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08 if legend else 0, 1, 1))
    if show:
        plt.show()
    return fig


def show_redraw_grid(nets, images, gt, n_z: int = 4, title: str = "", names=None):
    """The paper's Figure 2 with its columns named: one row per image, then the ground truth, F's
    regions and each region redrawn with ``n_z`` values of z (the same z down a column); a legend
    names the colours (``names``: the ground truth's labels)."""
    import matplotlib.pyplot as plt

    from redo_lite.viz import PALETTE, redraw_grid

    n = len(nets["G"].gens)
    tile = images.shape[-1] + 1
    grid = redraw_grid(nets, images, gt, n_z=n_z)
    fig, ax = plt.subplots(figsize=(13, 1.0 + 0.75 * len(images)))
    ax.imshow(grid.permute(1, 2, 0).cpu().numpy())
    heads = ["input", "truth", "F's regions"] + [f"region {k}, {n_z} z" for k in range(n)]
    centres = [tile * (i + 0.5) for i in range(3)]
    centres += [tile * (3 + n_z * k + n_z / 2) for k in range(n)]
    ax.set_xticks(centres, heads)
    ax.set_yticks([])
    names = names or [f"label {k}" for k in range(n)]
    handles = [plt.Rectangle((0, 0), 1, 1, color=PALETTE[k].tolist()) for k in range(n)]
    labels = [f"{names[k]} (truth) / region {k} (F)" for k in range(n)]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title(title)
    plt.show()
    return fig
