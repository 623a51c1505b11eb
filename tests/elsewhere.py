"""A device that is not the CPU, emulated on the CPU, for tests: code that forgets to move a tensor
fails here as it would on a GPU.

Inside ``on_elsewhere()``, ``torch.device("meta")`` stands for a GPU. A tensor moved there (by
``.to``, a module's ``.to`` or a factory function's ``device=``) keeps real values on the CPU
underneath but reports ``device.type == "meta"``, and every operation checks PyTorch's device
rule as CUDA applies it: all the tensors of one operation on one device, except a 0-dim CPU
tensor (a scalar) and CPU index tensors into a device tensor. A CPU tensor indexed by device
labels (``PALETTE[labels]``) raises, as on CUDA: "indices should be either on cpu or on the same
device as the indexed tensor". ``.cpu()`` brings values back; ``.numpy()`` on a device tensor
raises, as on CUDA.

(The real meta device holds no values, so pictures and scores could not be checked on it; a
CUDA device cannot be named on a machine without a GPU, since ``.to("cuda")`` starts CUDA before
any Python code can step in.)
"""

from __future__ import annotations

import contextlib

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

DEVICE = torch.device("meta")
INDEX_OPS = {"aten::index", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_"}
COPY_OPS = {"aten::copy_", "aten::_to_copy", "aten::detach", "aten::alias", "aten::lift_fresh"}


class Elsewhere(torch.Tensor):
    """A tensor on the emulated device: real CPU values (``inner``) behind a ``meta`` device."""

    @staticmethod
    def __new__(cls, inner: torch.Tensor):
        return torch.Tensor._make_wrapper_subclass(
            cls,
            inner.shape,
            strides=inner.stride(),
            storage_offset=inner.storage_offset(),
            dtype=inner.dtype,
            device=DEVICE,
            requires_grad=inner.requires_grad,
        )

    def __init__(self, inner: torch.Tensor):
        self.inner = inner

    def __repr__(self):
        return f"Elsewhere({self.inner!r})"

    def numpy(self, *a, **k):
        raise TypeError(
            "can't convert an (emulated) device tensor to numpy: use Tensor.cpu() to copy the "
            "tensor to host memory first"
        )

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _where(t: torch.Tensor) -> str:
    return "the emulated device" if isinstance(t, Elsewhere) else t.device.type


def _run(func, args, kwargs):
    name = func._schema.name + (f".{func._overloadname}" if func._overloadname != "default" else "")
    base = func._schema.name
    # the device rule
    if base not in COPY_OPS:
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if base in INDEX_OPS and isinstance(args[0], Elsewhere):
            tensors = [args[0]] + [t for t in tensors[1:] if _where(t) != "cpu"]
        elif base in INDEX_OPS and any(isinstance(t, Elsewhere) for t in tensors[1:]):
            raise RuntimeError(
                f"{name}: indices should be either on cpu or on the same device as the indexed "
                "tensor (cpu) [emulated device]"
            )
        places = {_where(t) for t in tensors if isinstance(t, Elsewhere) or t.dim() > 0}
        if len(places) > 1:
            raise RuntimeError(
                f"{name}: Expected all tensors to be on the same device, but found at least two "
                f"devices, {' and '.join(sorted(places))}! [emulated device]"
            )
    target = kwargs.get("device")
    to_there = target is not None and torch.device(target).type == DEVICE.type
    to_cpu = target is not None and not to_there
    if target is not None:
        kwargs = {**kwargs, "device": torch.device("cpu")}
    there = to_there or (
        not to_cpu and any(isinstance(t, Elsewhere) for t in tree_flatten((args, kwargs))[0])
    )
    unwrapped = tree_map(lambda t: t.inner if isinstance(t, Elsewhere) else t, (args, kwargs))
    out = func(*unwrapped[0], **unwrapped[1])
    if base == "aten::copy_" and isinstance(args[0], Elsewhere):
        return args[0]
    if not there:
        return out
    return tree_map(lambda t: Elsewhere(t) if isinstance(t, torch.Tensor) else t, out)


class _Mode(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


@contextlib.contextmanager
def on_elsewhere():
    """Run the block with ``torch.device("meta")`` standing for a GPU (see the module's note)."""
    with _Mode():
        yield DEVICE
