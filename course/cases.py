"""Seeded inputs and small tools shared by the notebooks' exercise modules: generators, soft
masks that look like F's, a redraw case, a module exercise's weight-copying wrapper, and the
tiny preset's config."""

from __future__ import annotations

import torch
import torch.nn.functional as F_

from redo_lite import process

from .registry import ParametersDiffer


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def is_tensor(x, dim: int | None = None) -> bool:
    return isinstance(x, torch.Tensor) and (dim is None or x.dim() == dim)


def soft_masks(g: torch.Generator, b: int = 2, n: int = 3, s: int = 16, sharp: float = 3.0):
    """B,n,S,S masks that sum to one: smooth blobs with soft edges (like F's output early on)."""
    logits = torch.randn(b, n, max(s // 4, 1), max(s // 4, 1), generator=g)
    logits = F_.interpolate(logits, size=(s, s), mode="bilinear", align_corners=False)
    return torch.softmax(sharp * logits, 1)


def redraw_case(b: int = 2, n: int = 3, s: int = 16):
    """(image B,3,S,S in [-1,1] made of flat-coloured regions; masks B,n,S,S; drawn B,n,3,S,S =
    new colours times each mask, as G_k returns them)."""
    g = gen(1)
    masks = soft_masks(g, b, n, s)
    colours = torch.rand(b, n, 3, 1, 1, generator=g) * 2 - 1
    image = process.compose(masks, colours.expand(-1, -1, -1, s, s))
    new = torch.tanh(
        torch.rand(b, n, 3, 1, 1, generator=g) * 2
        - 1
        + 0.3 * torch.randn(b, n, 3, s, s, generator=g)
    )
    return image, masks, new * masks[:, :, None]


def module_wrap(reference_cls, make):
    """For a module exercise: ``candidate`` (a class, or an instance) becomes a function of the
    inputs that builds the reference, copies its weights into the candidate and runs it."""

    def wrap(candidate):
        def go(*inputs):
            ref = make(reference_cls)
            mod = make(candidate) if isinstance(candidate, type) else candidate
            try:
                mod.load_state_dict(ref.state_dict())
            except RuntimeError as e:
                raise ParametersDiffer(str(e).splitlines()[0][:300]) from None
            return mod(*inputs)

        return go

    return wrap


def variant(base, forward, **kw):
    """A subclass of module ``base`` whose forward is ``forward(self, *inputs, **kw)``: one
    deliberate change for a typical mistake."""
    return type(base.__name__, (base,), {"forward": lambda self, *a: forward(self, *a, **kw)})


def tiny_config():
    """The ``tiny`` preset: the smallest model, for checks that run a whole training step."""
    from redo_lite.config import get_preset

    return get_preset("tiny")
