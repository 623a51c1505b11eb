r"""Checks that teach: run the learner's exercise and the reference on the same seeded inputs, name
every output that differs and say how (type, shape, dtype, how many elements, the largest
difference and where it is), then match the learner's output against the exercise's typical
mistakes and print the diagnosis of each one it equals.

The first word printed is ``CHECK PASS``, ``CHECK FAIL`` or ``CHECK TODO`` (the notebook tests read
it). A failure on an image output (B,3,H,W, B,1,H,W or a label map) also shows expected, yours and
their difference side by side when the check runs in a notebook.

The exercises themselves (reference, inputs, output names, mistakes) are registered in
:mod:`course.exercises` (one module per notebook); a notebook cell calls
``check_exercise("hinge_d", hinge_d)``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .registry import Exercise, Mistake, ParametersDiffer, exercises

__all__ = [
    "CheckFailedEarlier",
    "Exercise",
    "FailedCheck",
    "Mistake",
    "ParametersDiffer",
    "check",
    "check_exercise",
    "check_module",
    "use_reference",
]

MISSING = object()  # a dict key the learner's output does not have


# ---------------------------------------------------------------------------------------------
# Comparing one output
# ---------------------------------------------------------------------------------------------
def _kind(x) -> str:
    if x is None:
        return "None"
    if x is Ellipsis:
        return "`...`"
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    if isinstance(x, np.ndarray):
        return f"a numpy array of shape {x.shape}"
    if isinstance(x, (bool, np.bool_)):
        return "a bool"
    if isinstance(x, (int, float, np.integer, np.floating)):
        return f"the number {_num(x)}"
    if isinstance(x, (tuple, list, dict)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"a {type(x).__name__}"


def _num(v) -> str:
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    return f"{v:.6g}"


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    return torch.as_tensor(x)


def _dtype_name(x) -> str:
    return str(x.dtype).replace("torch.", "")


def _values(e, g, atol: float, rtol: float) -> str | None:
    """None when every element is close; else how many differ and the largest difference."""
    te, tg = _as_tensor(e), _as_tensor(g)
    if te.is_complex() or tg.is_complex():
        return None if torch.allclose(te, tg, rtol, atol, equal_nan=True) else "values differ"
    te, tg = te.detach().cpu().double(), tg.detach().cpu().double()
    close = torch.isclose(tg, te, rtol=rtol, atol=atol, equal_nan=True)
    bad = int((~close).sum())
    if bad == 0:
        return None
    nan = tg.isnan() & ~te.isnan()  # NaN where a number is expected: said as such, not as inf
    if te.numel() == 1:
        e_v, g_v = te.flatten()[0], tg.flatten()[0]
        if nan.any():
            return f"expected {_num(e_v)}, got NaN"
        return f"expected {_num(e_v)}, got {_num(g_v)} (difference {_num((te - tg).abs())})"
    parts = [f"{bad} of {te.numel()} elements differ"]
    if nan.any():
        first = int(nan.flatten().int().argmax())
        parts.append(
            f"{int(nan.sum())} of them NaN where a number is expected (the first at "
            f"{_index(first, te.shape)}, expected {_num(te.flatten()[first])})"
        )
    rest = ~close & ~nan
    if rest.any():
        diff = torch.where(rest, (te - tg).abs().nan_to_num(float("inf")), torch.zeros_like(te))
        flat = int(diff.flatten().argmax())
        e_v, g_v = te.flatten()[flat], tg.flatten()[flat]
        parts.append(
            f"largest |expected - got| = {_num(diff.max())} at {_index(flat, te.shape)} "
            f"(expected {_num(e_v)}, got {_num(g_v)})"
        )
    return "; ".join(parts)


def _index(flat: int, shape) -> list[int]:
    return [int(i) for i in np.unravel_index(flat, tuple(shape))]


def compare_one(expected, got, atol: float = 1e-5, rtol: float = 1e-5) -> str | None:
    """Why ``got`` is not ``expected`` (one sentence), or None when they match."""
    if got is MISSING:
        return "missing from your output"
    if got is Ellipsis and expected is not Ellipsis:
        return "is `...`: a blank is still to fill"
    if got is None and expected is not None:
        return "is None: your code returns nothing here (a missing `return`?)"
    if isinstance(expected, (torch.Tensor, np.ndarray)):
        want = "a tensor" if isinstance(expected, torch.Tensor) else "a numpy array"
        if type(got) is not type(expected) and not (
            isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor)
        ):
            return f"expected {want}, got {_kind(got)}"
        if tuple(got.shape) != tuple(expected.shape):
            return f"shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
        values = _values(expected, got, atol, rtol)
        if got.dtype != expected.dtype:
            same = "values otherwise match" if values is None else values
            return f"dtype: expected {_dtype_name(expected)}, got {_dtype_name(got)} ({same})"
        return values
    if _is_number(expected) or isinstance(expected, (bool, np.bool_)):
        if isinstance(got, (torch.Tensor, np.ndarray)) and got.ndim == 0:
            got = got.item()  # a 0-d tensor stands for a number
        if isinstance(expected, (bool, np.bool_)):
            if not isinstance(got, (bool, np.bool_)):
                return f"expected {bool(expected)}, got {_kind(got)}"
            return None if bool(got) == bool(expected) else f"expected {expected}, got {got}"
        if not _is_number(got):
            return f"expected a number ({_num(expected)}), got {_kind(got)}"
        return _values(float(expected), float(got), atol, rtol)
    if isinstance(expected, (tuple, list, dict)):
        return f"expected {_kind(expected)}, got {_kind(got)}"
    return None if got == expected else f"expected {expected!r}, got {got!r}"


# ---------------------------------------------------------------------------------------------
# Pairing the outputs by name
# ---------------------------------------------------------------------------------------------
def _join(prefix: str, name) -> str:
    return f"{prefix}/{name}" if prefix else str(name)


def _split_both(expected, got, split):
    if split is None:
        return expected, got
    try:
        e, g = split(expected), split(got)
    except Exception:
        return expected, got
    return (e, g) if list(e) == list(g) else (expected, got)


def pair_outputs(expected, got, names: Sequence[str] = (), split=None, prefix: str = ""):
    """[(name, expected leaf, your leaf)] walking the reference's structure: dict keys, tuple items
    by the exercise's ``names`` (else ``output[i]``); a single output is called ``names[0]``."""
    if not prefix and split is not None:
        expected, got = _split_both(expected, got, split)
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [(prefix or "output", expected, got)]
        pairs = []  # keys the reference does not have are not compared
        for k in expected:
            pairs += pair_outputs(expected[k], got.get(k, MISSING), prefix=_join(prefix, k))
        return pairs
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return [(prefix or "output", expected, got)]
        labels = list(names) if len(names) == len(expected) else None
        pairs = []
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            label = labels[i] if labels else (_join(prefix, i) if prefix else f"output[{i}]")
            pairs += pair_outputs(e, g, prefix=label)
        return pairs
    return [(prefix or (names[0] if len(names) == 1 else "output"), expected, got)]


def _group(name: str) -> str:
    return name.split("/")[0]


def _matches(expected, got, atol, rtol) -> bool:
    try:
        return all(compare_one(e, g, atol, rtol) is None for _, e, g in pair_outputs(expected, got))
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------
# Pictures of a failed image output
# ---------------------------------------------------------------------------------------------
def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a figure can be shown), False in plain Python/pytest."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    return "IPKernelApp" in getattr(ip, "config", {}) or type(ip).__name__ in (
        "ZMQInteractiveShell",  # Jupyter, VS Code
        "Shell",  # Colab
    )


def image_like(x) -> str | None:
    """The kind of image output ``x`` is: "rgb", "gray", "labels", or None (not an image)."""
    if not isinstance(x, (torch.Tensor, np.ndarray)) or x.ndim < 2 or min(x.shape[-2:]) < 4:
        return None
    t = _as_tensor(x)
    if t.is_floating_point():
        if t.dim() >= 3 and t.shape[-3] in (1, 3):
            return "rgb" if t.shape[-3] == 3 else "gray"
        return None
    return "labels" if t.dim() in (2, 3) else None


def diff_figure(title: str, expected, got, max_items: int = 4):
    """A matplotlib figure: one row per image (up to ``max_items``), three columns: expected, yours,
    and their absolute difference. Colours are on one scale for expected and yours; label maps
    are drawn in the course's label colours (``redo_lite.viz.colorize``), with a legend."""
    import matplotlib.pyplot as plt

    from redo_lite.viz import PALETTE, colorize

    kind = image_like(expected)
    e, g = _as_tensor(expected).detach().cpu(), _as_tensor(got).detach().cpu()
    if kind == "labels":
        e, g = e.reshape(-1, *e.shape[-2:]), g.reshape(-1, *g.shape[-2:])
        d = (e != g).float()
    else:
        e = e.float().reshape(-1, *e.shape[-3:])
        g = g.float().reshape(-1, *g.shape[-3:])
        d = (e - g).abs().sum(1)
        lo, hi = min(e.min(), g.min()).item(), max(e.max(), g.max()).item()
        e, g = ((e - lo) / max(hi - lo, 1e-8)), ((g - lo) / max(hi - lo, 1e-8))
    rows = min(max_items, len(e))
    fig, axes = plt.subplots(rows, 3, figsize=(7.5, 2.4 * rows), squeeze=False)
    vmax = max(int(e.max()), int(g.max()), 1) if kind == "labels" else None
    for r in range(rows):
        for c, (img, head) in enumerate(
            (
                (e[r], "expected"),
                (g[r], "yours"),
                (d[r], "differs" if kind == "labels" else "|expected - yours|"),
            )
        ):
            ax = axes[r, c]
            if c == 2:
                # a fixed scale from 0: a difference of labels is 0 or 1, and one that is the
                # same everywhere must not be stretched into a flat square of any colour
                vmax_d = 1 if kind == "labels" else max(float(d.max()), 1e-8)
                im = ax.imshow(
                    d[r].numpy(), cmap="magma", interpolation="nearest", vmin=0, vmax=vmax_d
                )
                fig.colorbar(im, ax=ax, fraction=0.046)
            elif kind == "labels":  # the course's label colours (redo_lite.viz), as everywhere
                ax.imshow(colorize(img[None])[0].permute(1, 2, 0).numpy(), interpolation="nearest")
            elif kind == "gray":
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_title(f"{head} [{r}]" if rows > 1 else head, fontsize=9)
            ax.axis("off")
    if kind == "labels":
        from matplotlib.patches import Patch

        fig.legend(
            handles=[
                Patch(
                    facecolor=PALETTE[k % len(PALETTE)].tolist(),
                    edgecolor="#333333",
                    label=f"label {k}",
                )
                for k in range(vmax + 1)
            ],
            loc="lower center",
            ncol=vmax + 1,
            fontsize=8,
        )
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05 if kind == "labels" else 0, 1, 1))
    return fig


# ---------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------
def _run(fn, inputs_fn, seed: int):
    torch.manual_seed(seed)
    args = [f() for f in inputs_fn]
    torch.manual_seed(seed + 1)
    return fn(*args)


def _has_ellipsis(x) -> bool:
    if x is Ellipsis:
        return True
    if isinstance(x, dict):
        return any(_has_ellipsis(v) for v in x.values())
    if isinstance(x, (tuple, list)):
        return any(_has_ellipsis(v) for v in x)
    return False


def _blank_error(e: Exception) -> bool:
    """An error raised by arithmetic on a `...` blank ('ellipsis' object ...)."""
    return "ellipsis" in str(e).lower()


def check(
    name: str,
    yours,
    reference,
    *inputs_fn,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    seed: int = 0,
    names: Sequence[str] | None = None,
    split=None,
    mistakes: Sequence[Mistake] | None = None,
    show: bool | None = None,
) -> bool:
    """Run ``yours`` and ``reference`` on the same seeded inputs and compare every output.

    ``inputs_fn``: zero-argument callables that build each input. ``names``: names of a tuple
    output's items. ``mistakes``: typical wrong implementations (see :class:`Mistake`); when
    ``None`` and ``name`` is a registered function exercise, its names and mistakes are used.
    ``show``: draw expected vs yours for a failing image output (default: only in a notebook)."""
    if mistakes is None or names is None:
        ex = exercises().get(name)
        if ex is not None and ex.wrap is None and len(ex.inputs) == len(inputs_fn):
            names = ex.outputs if names is None else names
            mistakes = ex.mistakes if mistakes is None else mistakes
            split = ex.split if split is None else split
    names, mistakes = tuple(names or ()), tuple(mistakes or ())

    try:
        got = _run(yours, inputs_fn, seed)
    except NotImplementedError as e:
        print(f"CHECK TODO: {name} — not implemented yet ({e})")
        _stop_quietly(e, name)
        raise  # stop here: later cells use this exercise
    except ParametersDiffer as e:
        print(f"CHECK FAIL: {name} — your module's parameters do not match redo_lite's:\n  {e}")
        return False
    except Exception as e:
        if _blank_error(e):
            why = f"{type(e).__name__}: {e}"
            print(f"CHECK TODO: {name} — a `...` blank is still in your code ({why})")
            _stop_quietly(e, name)
        else:
            lines = [f"CHECK FAIL: {name} — your code raised {type(e).__name__}: {e}"]
            lines += [
                f"  likely cause: {m.diagnosis}"
                for m in mistakes
                if _mistake_raises_alike(m, e, inputs_fn, seed)
            ]
            print("\n".join(lines))
            _stop_quietly(e, name, failed=True)
        raise
    expected = _run(reference, inputs_fn, seed)

    pairs = pair_outputs(expected, got, names, split)
    results = [(n, e, g, compare_one(e, g, atol, rtol)) for n, e, g in pairs]
    differ = [r for r in results if r[3] is not None]
    if not differ:
        print(f"CHECK PASS: {name}")
        return True

    groups = list(dict.fromkeys(_group(n) for n, *_ in results))
    bad_groups = list(dict.fromkeys(_group(n) for n, *_ in differ))
    word = "TODO" if _has_ellipsis(got) else "FAIL"
    head = (
        f"{len(bad_groups)} of {len(groups)} outputs differ: {', '.join(bad_groups)}"
        if len(groups) > 1
        else "still has blanks"
        if word == "TODO"
        else "the output differs"
    )
    lines = [f"CHECK {word}: {name} — {head}"]
    shown = dict.fromkeys(bad_groups, 0)  # at most two lines per group, eight in all
    for n, _, _, why in differ:
        if shown[_group(n)] < 2 and len(lines) <= 8:
            lines.append(f"  {n}: {why}")
            shown[_group(n)] += 1
    total = {g: sum(_group(n) == g for n, *_ in differ) for g in bad_groups}
    more = [f"{g} ({total[g] - shown[g]} more)" for g in bad_groups if total[g] > shown[g]]
    if more:
        lines.append("  also differ: " + ", ".join(more))
    same = [g for g in groups if g not in bad_groups]
    if same:
        lines.append("  these match: " + ", ".join(same))
    if word == "FAIL":
        for m in mistakes:
            if _mistake_matches(m, got, expected, inputs_fn, seed, names, atol, rtol):
                lines.append(f"  likely cause: {m.diagnosis}")
    print("\n".join(lines))

    if word == "FAIL" and (in_notebook() if show is None else show):
        import matplotlib.pyplot as plt

        for n, e, g, why in differ:
            if image_like(e) and "elements differ" in why:
                diff_figure(f"{name}: {n} — expected vs yours", e, g)
                plt.show()
    return False


def _stop_quietly(e: BaseException, name: str, failed: bool = False) -> None:
    """Make the stop of an open exercise (or of one whose code raised, ``failed``) read as what it
    is, not as a crash. IPython shows what an exception's ``_render_traceback_`` returns in place
    of its traceback: here the error, the line of the learner's code that raised it, and why the
    notebook stops. Outside IPython (plain Python, pytest) the exception and its traceback are
    unchanged."""
    import linecache
    from pathlib import Path

    import redo_lite

    # the course's own frames and redo_lite's: the line to show is the learner's
    ours_dirs = (
        str(Path(__file__).resolve().parent),
        str(Path(redo_lite.__file__).resolve().parent),
    )
    where, tb = None, e.__traceback__
    while tb is not None:  # the innermost frame that is not the course's nor a library's
        file = tb.tb_frame.f_code.co_filename
        ours = file.endswith(".py") and str(Path(file).resolve()).startswith(ours_dirs)
        if not ours and not any(s in file for s in ("site-packages", "dist-packages")):
            where = tb
        tb = tb.tb_next
    lines = [f"{type(e).__name__}: {e}"]
    if where is not None:
        code, line = where.tb_frame.f_code, where.tb_lineno
        text = linecache.getline(code.co_filename, line).strip()
        lines.append(f"  raised in {code.co_name}, line {line}: {text}")
    if failed:
        lines.append(
            f"CHECK FAIL above: your {name} raised this error on the check's inputs (the likely "
            "cause, if one is known, is printed above). Fix it, then run the exercise's cell and "
            "this one again."
        )
    else:
        lines.append(
            f"This stop is expected: {name} is not finished, and its check halts the notebook "
            'here so that "Run all" goes no further. Fill the blanks, delete the raise line, then '
            "run the exercise's cell and this one again."
        )
    e._render_traceback_ = lambda: lines


def _mistake_raises_alike(m: Mistake, e: Exception, inputs_fn, seed) -> bool:
    """The mistake's implementation raises the same error as the learner's code (the same type
    and message): a wrong axis that does not broadcast, say."""
    if m.fn is None:
        return False
    try:
        _run(m.fn, inputs_fn, seed)
    except Exception as w:
        return type(w) is type(e) and str(w) == str(e)
    return False


def _mistake_matches(m: Mistake, got, expected, inputs_fn, seed, names, atol, rtol) -> bool:
    if m.test is not None:
        try:
            if m.test(got, expected):
                return True
        except Exception:
            pass
    if m.fn is None:
        return False
    try:
        wrong = _run(m.fn, inputs_fn, seed)
    except Exception:
        return False
    return _matches(wrong, got, atol, rtol)


def check_module(
    name: str, yours: torch.nn.Module, reference: torch.nn.Module, *inputs_fn, atol=1e-5
) -> bool:
    """Compare a learner's module with redo_lite's: the reference's weights are copied into yours
    (so the names and shapes of your parameters must match), then both run on the same inputs."""
    try:
        yours.load_state_dict(reference.state_dict())
    except RuntimeError as e:
        print(
            f"CHECK FAIL: {name} — your module's parameters do not match redo_lite's:\n"
            f"  {str(e).splitlines()[0][:300]}"
        )
        return False
    ex = exercises().get(name)
    return check(
        name,
        yours,
        reference,
        *inputs_fn,
        atol=atol,
        names=ex.outputs if ex else (),
        split=ex.split if ex else None,
        mistakes=(),
    )


def check_exercise(name: str, yours, show: bool | None = None) -> bool:
    """Check a registered exercise in one line: ``check_exercise("hinge_d", hinge_d)``.

    ``yours``: the function, or for a module exercise the class (or an instance built with the
    same arguments as the reference). Prints ``CHECK PASS``/``FAIL``/``TODO``; returns True on
    a pass. On a failure, every name of the calling namespace (the notebook's) bound to ``yours``
    is bound to a :class:`FailedCheck` in its place, so that the first later cell that uses it
    stops with a message instead of printing numbers or figures that contradict the text."""
    EXERCISES = exercises()
    if name not in EXERCISES:
        raise KeyError(f"no exercise named {name!r}; the course has: {', '.join(EXERCISES)}")
    if isinstance(yours, FailedCheck):  # the check run again without the code run again
        yours = yours.yours
    ex = EXERCISES[name]
    wrap = ex.wrap or (lambda fn: fn)
    passed = check(
        ex.name,
        wrap(yours),
        wrap(ex.reference),
        *ex.inputs,
        atol=ex.atol,
        rtol=ex.rtol,
        seed=ex.seed,
        names=ex.outputs,
        split=ex.split,
        mistakes=[
            Mistake(m.diagnosis, wrap(m.fn) if m.fn is not None else None, m.test, m.example)
            for m in ex.mistakes
        ],
        show=show,
    )
    namespace = sys._getframe(1).f_globals
    if passed:
        FAILED.pop(name, None)
    else:
        FAILED[name] = yours
        for key, value in list(namespace.items()):
            if value is yours and not key.startswith("_"):
                namespace[key] = FailedCheck(name, yours, key)
    return passed


# ---------------------------------------------------------------------------------------------
# A failed check stays visible: the later cells that use the learner's code stop
# ---------------------------------------------------------------------------------------------
FAILED: dict[str, Any] = {}  # exercise name -> the learner's code whose last check failed


class CheckFailedEarlier(RuntimeError):
    """A cell used a learner's function or class whose check failed."""


class FailedCheck:
    """Stands in for the learner's function or class ``yours`` after its check failed: calling
    it (or building the class) raises :class:`CheckFailedEarlier` with what to do, so that no
    number or figure computed from code known to be wrong reaches the page. Running the
    exercise's cell again binds the name to the new code; ``use_reference(name)`` binds it to
    the course's reference."""

    def __init__(self, name: str, yours, key: str):
        self.name, self.yours, self.key = name, yours, key

    def message(self) -> list[str]:
        return [
            f"STOPPED: {self.key} did not pass its check (CHECK FAIL: {self.name}, above), and "
            "this cell uses it.",
            "  Whatever it computed here would contradict the text, so the cell stops before any "
            "number or figure.",
            f"  Fix {self.key}, run its cell and its check again; or, to go on with the course's "
            "own version, run",
            f'    from course import use_reference; use_reference("{self.name}")',
            "  and then this cell again.",
        ]

    def __call__(self, *args, **kwargs):
        lines = self.message()
        e = CheckFailedEarlier("\n".join(lines))
        e._render_traceback_ = lambda: lines  # IPython shows the message, not a traceback
        raise e

    def __repr__(self) -> str:
        return f"<{self.key}: failed its check ({self.name}); calling it stops the cell>"


def use_reference(name: str, namespace: dict | None = None):
    """Bind the notebook's name of exercise ``name`` to the course's reference (the one the checks
    compare with), saying so loudly, and return it: the way on after a failed check."""
    ex = exercises()[name]
    namespace = sys._getframe(1).f_globals if namespace is None else namespace
    keys = [k for k, v in namespace.items() if isinstance(v, FailedCheck) and v.name == name]
    for key in keys or [name]:
        namespace[key] = ex.reference
    print(
        f"USING THE REFERENCE for {name}: the cells below run the course's own {name}, "
        "not yours (your version failed its check)."
    )
    return ex.reference
