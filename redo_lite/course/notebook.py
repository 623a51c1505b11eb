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
    """One image (3,H,W in [-1,1]) with ``region`` redrawn from z (n, z_dim): 3,H,W in [0,1]."""
    from ..data import to_unit
    from ..process import redraw_all

    x = image[None]
    masks = nets["F"](x)
    return to_unit(redraw_all(x, masks, nets["G"](masks, z[None]))[0, region])


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

    arr = (img.clamp(0, 1) * 255).byte().permute(1, 2, 0).numpy()
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
    """Build colored-2-MNIST at ``path`` unless it is already there (about 30 s). A copy built by
    the first release (broken digit strokes, no ``digit_min_cover`` in its info.json) is rebuilt."""
    import json
    from pathlib import Path

    info = Path(path) / "info.json"
    if not info.exists() or "digit_min_cover" not in json.loads(info.read_text()):
        from data_prep.c2mnist import build

        build(Path(path), size=size, seed=0)
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


def plot_history(run, fig=None):
    """Losses and validation IoU of a run folder against steps (all attempts in one time line)."""
    import matplotlib.pyplot as plt

    rows = read_log(run)
    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    fig = fig or plt.figure(figsize=(11, 3))
    fig.clf()
    ax = fig.subplots(1, 3)
    for k in ("loss_g", "loss_d"):
        ax[0].plot([r["total_steps"] for r in train], [r[k] for r in train], label=k)
    ax[0].set_title("hinge losses")
    ax[0].legend()
    ax[0].set_xlabel("step")
    ax[1].plot([r["total_steps"] for r in train], [r["loss_z"] for r in train])
    ax[1].set_title("information conservation λ·mse")
    ax[1].set_xlabel("step")
    ax[2].plot(
        [r["total_steps"] for r in evals], [r["iou"] for r in evals], "o-", label="per image"
    )
    ax[2].plot(
        [r["total_steps"] for r in evals],
        [r["iou_split"] for r in evals],
        "s--",
        label="one permutation",
    )
    ax[2].set_title("validation IoU (objects)")
    ax[2].set_ylim(0, 1)
    ax[2].legend()
    ax[2].set_xlabel("step")
    fig.tight_layout()
    return fig


def live_plot(trainer):
    """A ``Trainer.fit`` callback that redraws the history after every evaluation."""
    import matplotlib.pyplot as plt
    from IPython.display import clear_output, display

    fig = plot_history(trainer.run)
    clear_output(wait=True)
    display(fig)
    plt.close(fig)
