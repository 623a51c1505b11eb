"""The checks that teach: every registered exercise passes its reference and recognises each of its
typical mistakes; the messages name the output, the place, the dtype and the shape that differ."""

import ast
import itertools
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from course import EXERCISES, Mistake, check, check_exercise, check_module
from course.checks import diff_figure, in_notebook
from course.exercises.nb08 import train_step_variant
from redo_lite import losses, nets

matplotlib.use("agg")
ROOT = Path(__file__).resolve().parents[1]
MISTAKES = [(name, i) for name, ex in EXERCISES.items() for i in range(len(ex.mistakes))]


def _exercise_cells():
    """(notebook stem, exercise name, the notebook's imports up to there and its earlier solved
    exercises (a later one may build on them), the exercise's code)."""
    from IPython.core.inputtransformer2 import TransformerManager

    out = []
    for path in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        imports, solved = [], []
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = TransformerManager().transform_cell("".join(cell["source"]))  # magics
            tree = ast.parse(src)
            imports += [
                ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
            ]
            if "### BEGIN SOLUTION" in src:
                lines, starts = src.split("\n"), [n.lineno for n in tree.body[1:]] + [None]
                for node, end in zip(tree.body, starts, strict=True):
                    # up to the next statement: the block's END marker is a comment after it
                    code = "\n".join(lines[node.lineno - 1 : end and end - 1]).rstrip()
                    if isinstance(node, ast.FunctionDef | ast.ClassDef) and "### BEGIN" in code:
                        before = "\n".join(imports + solved)
                        out.append((path.stem, node.name, before, code))
                        solved.append(code)
    return out


CELLS = _exercise_cells()


def printed(capsys) -> str:
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_reference_passes(name, capsys):
    assert check_exercise(name, EXERCISES[name].reference)
    assert printed(capsys).startswith(f"CHECK PASS: {name}")


@pytest.mark.parametrize("name,i", MISTAKES, ids=[f"{n}-{i}" for n, i in MISTAKES])
def test_each_mistake_fails_with_its_diagnosis(name, i, capsys):
    mistake = EXERCISES[name].mistakes[i]
    wrong = mistake.fn or mistake.example
    assert wrong is not None, "a mistake needs a wrong implementation (fn, or example for a test)"
    try:
        assert not check_exercise(name, wrong)
    except (RuntimeError, TypeError, ValueError, IndexError):
        pass  # a mistake that raises (a wrong axis that cannot broadcast): diagnosed, then raised
    out = printed(capsys)
    assert out.startswith(f"CHECK FAIL: {name}"), out
    assert f"likely cause: {mistake.diagnosis}" in out, out


def test_every_exercise_in_the_solutions_is_registered_with_two_mistakes():
    found = [(stem, name) for stem, name, *_ in CELLS]
    assert len(found) >= 15
    for stem, name in found:
        assert name in EXERCISES, f"solutions/{stem}.ipynb: exercise {name} is not registered"
        assert stem == EXERCISES[name].notebook, (name, stem)
        assert len(EXERCISES[name].mistakes) >= 2, f"{name}: fewer than two typical mistakes"


def test_outputs_are_named_and_the_largest_difference_located(capsys):
    a, b = torch.zeros(2, 3, 4, 5), torch.zeros(2, 3, 4, 5)
    wrong = b.clone()
    wrong[1, 2, 3, 4], wrong[0, 0, 0, 0] = 0.5, 0.1
    assert not check("pair", lambda: (a, wrong), lambda: (a, b), names=("first", "second"))
    out = printed(capsys)
    assert out.startswith("CHECK FAIL: pair — 1 of 2 outputs differ: second")
    assert "second: 2 of 120 elements differ; largest |expected - got| = 0.5 at [1, 2, 3, 4]" in out
    assert "these match: first" in out


def test_dict_outputs_by_key_and_a_missing_key(capsys):
    def ref():
        return {"loss_g": 1.0, "loss_d": 2.0}

    assert not check("losses", lambda: {"loss_g": 1.0, "loss_d": 2.5}, ref)
    assert "loss_d: expected 2, got 2.5 (difference 0.5)" in printed(capsys)
    assert not check("losses", lambda: {"loss_g": 1.0}, ref)
    assert "loss_d: missing from your output" in printed(capsys)


def test_a_bool_mask_where_uint8_is_asked_for_fails(capsys):
    mask = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    assert not check("mask", lambda: mask.astype(bool), lambda: mask)
    out = printed(capsys)
    assert out.startswith("CHECK FAIL: mask")
    assert "dtype: expected uint8, got bool (values otherwise match)" in out


def test_shape_and_type_mismatches_are_named(capsys):
    assert not check("s", lambda: torch.zeros(2, 3), lambda: torch.zeros(3, 2))
    assert "shape: expected (3, 2), got (2, 3)" in printed(capsys)
    assert not check("t", lambda: 1.0, lambda: torch.tensor(1.0))
    assert "expected a tensor, got the number 1" in printed(capsys)
    assert not check("n", lambda: torch.zeros(2).numpy(), lambda: torch.zeros(2))
    assert "expected a tensor, got a numpy array" in printed(capsys)


def test_none_and_blanks_say_what_is_left(capsys):
    assert not check("none", lambda: None, lambda: torch.zeros(2))
    assert "is None: your code returns nothing" in printed(capsys)
    assert not check("dots", lambda: ..., lambda: torch.zeros(2))
    out = printed(capsys)
    assert out.startswith("CHECK TODO: dots") and "a blank is still to fill" in out


def test_an_open_exercise_stops_with_check_todo(capsys):
    def stub():
        raise NotImplementedError("exercise: fill in the ... blanks below, then delete this line")

    with pytest.raises(NotImplementedError):
        check("stub", stub, lambda: 0)
    assert printed(capsys).startswith("CHECK TODO: stub — not implemented yet")

    def blank_used(x):
        total = ...
        return total * x

    with pytest.raises(TypeError):
        check("blank", blank_used, lambda x: x, lambda: torch.ones(2))
    assert printed(capsys).startswith("CHECK TODO: blank — a `...` blank is still in your code")


def test_the_stop_of_an_open_exercise_reads_as_expected_in_a_notebook(capsys):
    """IPython shows ``_render_traceback_`` in place of the traceback: the learner's line and
    why the notebook stops, not three frames inside the check."""

    def stub():
        raise NotImplementedError("exercise: fill in the ... blanks below, then delete this line")

    with pytest.raises(NotImplementedError) as info:
        check("stub", stub, lambda: 0)
    shown = "\n".join(info.value._render_traceback_())
    assert "This stop is expected: stub is not finished" in shown
    assert "raised in stub" in shown and 'raise NotImplementedError("exercise' in shown
    assert "checks.py" not in shown
    assert info.value.__traceback__ is not None  # plain Python still gets the whole traceback


def test_an_error_in_the_learners_code_reads_as_a_failed_check_in_a_notebook(capsys):
    """A shape error under CHECK FAIL: the error, the learner's line, what to do; no traceback
    through the check's frames."""

    def wrong_shape(x):
        return x @ torch.ones(3, 2)  # x is 2 x 2: the shapes do not multiply

    with pytest.raises(RuntimeError) as info:
        check("shapes", wrong_shape, lambda x: x, lambda: torch.ones(2, 2))
    assert printed(capsys).startswith("CHECK FAIL: shapes — your code raised RuntimeError")
    shown = "\n".join(info.value._render_traceback_())
    assert "raised in wrong_shape" in shown and "x @ torch.ones(3, 2)" in shown
    assert "CHECK FAIL above: your shapes raised this error" in shown
    assert "checks.py" not in shown and "This stop is expected" not in shown


def test_nan_is_reported_as_nan(capsys):
    expected = torch.ones(2, 3)
    got = expected.clone()
    got[1, 2] = float("nan")
    got[0, 0] = 3.0
    assert not check("nan", lambda: got, lambda: expected)
    out = printed(capsys)
    assert "1 of them NaN where a number is expected (the first at [1, 2], expected 1)" in out
    assert "largest |expected - got| = 2 at [0, 0]" in out and "inf" not in out
    assert not check("nan1", lambda: torch.tensor(float("nan")), lambda: torch.tensor(0.5))
    assert "expected 0.5, got NaN" in printed(capsys)


def test_a_raised_error_is_matched_to_the_mistake_that_raises_it(capsys):
    def ref(a, b):
        return a + b

    def wrong_axis(a, b):
        return a + b.T  # (2, 3) + (3, 2) does not broadcast

    mistakes = [Mistake("b transposed", wrong_axis), Mistake("never printed", ref)]
    ins = (lambda: torch.ones(2, 3), lambda: torch.ones(2, 3))
    with pytest.raises(RuntimeError):
        check("add", wrong_axis, ref, *ins, mistakes=mistakes)
    out = printed(capsys)
    assert out.startswith("CHECK FAIL: add — your code raised RuntimeError")
    assert "likely cause: b transposed" in out and "never printed" not in out


WRONG_ORDERS = [
    o
    for o in itertools.permutations(("background", "even", "odd"))
    if o[0] != "background" or o[1] != "even"
]


@pytest.mark.parametrize("order", WRONG_ORDERS, ids="-".join)
def test_every_wrong_colour_draw_order_is_diagnosed(order, capsys):
    from course.exercises.nb01 import _colours_in_order

    assert not check_exercise("random_colours", lambda rng: _colours_in_order(rng, order))
    assert "likely cause: the colours were drawn in another order" in printed(capsys)


def test_old_check_cells_get_the_registry_diagnoses(capsys):
    def one_mean(r, f):
        return torch.cat([torch.relu(1 - r), torch.relu(1 + f)]).mean()

    check("hinge_d", one_mean, losses.hinge_d, lambda: torch.randn(5), lambda: torch.randn(15))
    assert "likely cause: one mean over reals and fakes together" in printed(capsys)


def test_a_mistake_given_to_check_directly(capsys):
    ref, wrong = (lambda x: x * 2), (lambda x: x + 2)
    mistakes = [Mistake("added instead of multiplied", wrong), Mistake("never printed", ref)]
    assert not check("double", wrong, ref, lambda: torch.ones(3), mistakes=mistakes)
    out = printed(capsys)
    assert "likely cause: added instead of multiplied" in out and "never printed" not in out


def test_check_module_keeps_working(capsys):
    ref = nets.CondInstanceNorm(8, 4, 0.8)
    mine = nets.CondInstanceNorm(8, 4, 0.8)
    x, z = (lambda: torch.randn(2, 8, 4, 4)), (lambda: torch.randn(2, 4, 1, 1))
    assert check_module("CondInstanceNorm", mine, ref, x, z)
    assert not check_module("CondInstanceNorm", nets.CondInstanceNorm(6, 4, 0.8), ref, x, z)
    assert "parameters do not match" in printed(capsys)


def test_a_module_exercise_takes_the_class_or_an_instance(capsys):
    assert check_exercise("PyramidPooling", nets.PyramidPooling(8, (1, 2, 3, 6), 0.8))

    class WrongParameters(torch.nn.Module):
        def __init__(self, c, bins, gain):
            super().__init__()
            self.proj = torch.nn.Conv2d(c, 1, 1)

    assert not check_exercise("PyramidPooling", WrongParameters)
    assert "your module's parameters do not match redo_lite's" in printed(capsys)


def test_pyramid_pooling_names_the_bin_that_differs(capsys):
    adaptive = EXERCISES["PyramidPooling"].mistakes[2].fn
    check_exercise("PyramidPooling", adaptive)
    out = printed(capsys)
    assert "2 of 5 outputs differ: bin 3, bin 6" in out
    assert "these match: x (passed through), bin 1, bin 2" in out


def test_the_training_step_variant_with_nothing_changed_passes(capsys):
    assert check_exercise("train_step", train_step_variant())


def test_an_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="hinge_d"):
        check_exercise("hinge", lambda: 0)


def test_a_failed_image_shows_expected_yours_and_the_difference():
    import matplotlib.pyplot as plt

    e = torch.rand(2, 3, 8, 8)
    g = e.clone()
    g[1, :, 2:4, 2:4] = 0
    fig = diff_figure("redraw_all: redrawn images — expected vs yours", e, g)
    axes = fig.axes
    titles = [ax.get_title() for ax in axes]
    assert titles[:3] == ["expected [0]", "yours [0]", "|expected - yours| [0]"]
    assert fig._suptitle.get_text().startswith("redraw_all")
    plt.close(fig)
    labels = torch.tensor([[0, 1, 2, 2]] * 4)
    fig = diff_figure("flower_mask: mask", labels, labels.flip(1))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["label 0", "label 1", "label 2"]
    # the course's label colours (background black, ...), in the picture and in the legend
    from redo_lite.viz import PALETTE

    shown = torch.tensor(np.asarray(fig.axes[0].get_images()[0].get_array()), dtype=torch.float32)
    assert torch.allclose(shown[0], PALETTE[labels[0]], atol=1e-6)
    patch = fig.legends[0].get_patches()[0].get_facecolor()[:3]
    assert np.allclose(patch, PALETTE[0].numpy(), atol=1e-6)
    plt.close(fig)


def test_a_label_difference_is_drawn_on_a_fixed_0_to_1_scale():
    import matplotlib.pyplot as plt

    # every pixel wrong: the difference is 1 everywhere, which a stretched scale draws as a flat
    # square of the colour map's middle colour; on 0..1 it is the colour of "differs"
    mask = np.ones((16, 16), dtype=np.uint8)
    fig = diff_figure("flower_mask: mask", mask, 1 - mask)
    assert fig.axes[2].get_images()[0].get_clim() == (0, 1)
    plt.close(fig)


def test_no_figure_outside_a_notebook(capsys):
    import matplotlib.pyplot as plt

    assert not in_notebook()
    plt.close("all")
    check("img", lambda: torch.zeros(1, 3, 8, 8), lambda: torch.ones(1, 3, 8, 8))
    assert plt.get_fignums() == []


@pytest.mark.slow
def test_a_failed_image_check_draws_the_comparison_in_a_notebook(tmp_path, monkeypatch):
    import nbformat
    import papermill as pm

    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebook's own inline backend
    nb = nbformat.v4.new_notebook()
    twice = "lambda x, m, d: m[:, :, None] * d + (1 - m[:, :, None]) * x[:, None]"
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"from course import check_exercise\ncheck_exercise('redraw_all', {twice})"
        )
    ]
    nbformat.write(nb, tmp_path / "in.ipynb")
    out = pm.execute_notebook(
        str(tmp_path / "in.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
    )
    outputs = out.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert (
        text.startswith("CHECK FAIL: redraw_all")
        and "likely cause: the mask is applied twice" in text
    )
    assert any("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("stem,name,imports,src", CELLS, ids=[c[1] for c in CELLS])
def test_the_solved_notebook_passes_its_registered_check(stem, name, imports, src, capsys):
    ns = {}
    exec(imports, ns)
    exec(src, ns)
    assert check_exercise(name, ns[name]), printed(capsys)


@pytest.mark.parametrize("stem,name,imports,src", CELLS, ids=[c[1] for c in CELLS])
def test_blanks_left_in_the_learner_copy_say_todo(stem, name, imports, src, capsys):
    from conftest import load_script

    learner = load_script("tools/make_learner_notebooks.py").exercise_source(src)
    lines = learner.split("\n")
    opened = "\n".join(line for line in lines if "raise NotImplementedError" not in line)
    ns = {}
    exec(imports, ns)
    exec(opened, ns)
    try:
        assert not check_exercise(name, ns[name])
    except Exception:
        pass  # the check re-raises the error a blank caused, after saying so
    assert printed(capsys).startswith(f"CHECK TODO: {name}")


def _imports(path: Path) -> set[str]:
    """The modules a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            found |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return found


def test_the_method_does_not_import_the_grader():
    """The grader is its own package: nothing under redo_lite/ imports course."""
    users = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "redo_lite").rglob("*.py")
        if any(m == "course" or m.startswith("course.") for m in _imports(p))
    ]
    assert not users, users


def test_checks_and_exercises_do_not_import_each_other():
    """One registry: checks read it, each notebook's module fills it; neither imports the other."""
    checks = _imports(ROOT / "course" / "checks.py") | _imports(ROOT / "course" / "registry.py")
    assert not [m for m in checks if m.startswith("course.exercises")], checks
    modules = sorted((ROOT / "course" / "exercises").glob("nb[0-9][0-9].py"))
    assert [p.stem for p in modules] == [f"nb{i:02d}" for i in range(1, 12)]
    for p in modules:
        assert not [m for m in _imports(p) if m.startswith("course.checks")], p.name
    # each notebook's exercises are registered by that notebook's module
    for name, ex in EXERCISES.items():
        module = ex.reference.__module__ if ex.reference.__module__.startswith("course") else None
        registered_in = f"nb{ex.notebook[:2]}"
        assert module is None or module.endswith(registered_in) or "cases" in module, (name, module)


# ---------------------------------------------------------------------------------------------
# A failed check stays visible downstream
# ---------------------------------------------------------------------------------------------
def _notebook_namespace(code: str) -> dict:
    """Run ``code`` as a notebook cell would: in one namespace that later cells share."""
    ns: dict = {}
    exec(compile(code, "<cell>", "exec"), ns)
    return ns


WRONG_HINGE_G = """
import torch
from course import check_exercise

def hinge_g(fake_scores):
    return fake_scores.mean()  # the sign is wrong

passed = check_exercise("hinge_g", hinge_g)
"""


def test_after_a_failed_check_the_first_use_stops_with_a_message(capsys):
    from course import CheckFailedEarlier

    ns = _notebook_namespace(WRONG_HINGE_G)
    assert ns["passed"] is False and "CHECK FAIL: hinge_g" in printed(capsys)
    with pytest.raises(CheckFailedEarlier) as stop:
        exec("loss = hinge_g(torch.zeros(4))", ns)  # a later cell that uses it
    message = str(stop.value)
    assert "hinge_g did not pass its check" in message and 'use_reference("hinge_g")' in message
    assert "loss" not in ns  # the cell computed nothing
    # in a notebook the message replaces the traceback
    assert stop.value._render_traceback_()[0].startswith("STOPPED: hinge_g")


def test_fixing_the_function_and_checking_again_clears_the_stop(capsys):
    ns = _notebook_namespace(WRONG_HINGE_G)
    exec("def hinge_g(fake_scores):\n    return -fake_scores.mean()", ns)
    exec('passed = check_exercise("hinge_g", hinge_g)', ns)
    assert ns["passed"] is True
    exec("loss = hinge_g(torch.ones(4))", ns)
    assert float(ns["loss"]) == -1.0


def test_checking_the_stopped_function_again_names_its_mistake_again(capsys):
    ns = _notebook_namespace(WRONG_HINGE_G)
    capsys.readouterr()
    exec('again = check_exercise("hinge_g", hinge_g)', ns)  # the check cell run again, code not
    out = printed(capsys)
    assert ns["again"] is False and "likely cause: the sign is wrong" in out


def test_use_reference_goes_on_with_the_course_version_and_says_so(capsys):
    ns = _notebook_namespace(WRONG_HINGE_G)
    exec('from course import use_reference\nuse_reference("hinge_g")', ns)
    assert "USING THE REFERENCE for hinge_g" in printed(capsys)
    exec("loss = hinge_g(torch.ones(4))", ns)
    assert float(ns["loss"]) == float(losses.hinge_g(torch.ones(4)))


def test_a_failed_module_check_stops_the_first_cell_that_builds_it(capsys):
    from course import CheckFailedEarlier

    ns = _notebook_namespace(
        "import torch\nfrom redo_lite import nets\nfrom course import check_exercise\n"
        "class CondInstanceNorm(nets.CondInstanceNorm):\n"
        "    def forward(self, x, z):\n"
        "        return x * self.gamma(z) + self.beta(z)  # not normalised\n"
        'check_exercise("CondInstanceNorm", CondInstanceNorm)\n'
    )
    with pytest.raises(CheckFailedEarlier, match="CondInstanceNorm did not pass its check"):
        exec("layer = CondInstanceNorm(8, 4, 0.8)", ns)


def test_a_passing_check_leaves_the_learners_code_in_place(capsys):
    ns = _notebook_namespace(
        "from course import check_exercise\nfrom redo_lite.losses import hinge_d\n"
        'check_exercise("hinge_d", hinge_d)\n'
    )
    assert ns["hinge_d"] is losses.hinge_d


# ---------------------------------------------------------------------------------------------
# Every notebook names its exercises near the top, and the one that needs reasoning
# ---------------------------------------------------------------------------------------------
LIST_HEAD = "**Exercises in this notebook.**"


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_every_notebook_lists_its_exercises_and_stars_the_reasoning_one(folder):
    defined: dict[str, list[str]] = {}
    for stem, name, _, _ in CELLS:
        defined.setdefault(stem, []).append(name)
    for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
        if path.stem.startswith("00"):
            continue
        cells = json.loads(path.read_text())["cells"]
        lists = [i for i, c in enumerate(cells) if "".join(c["source"]).startswith(LIST_HEAD)]
        assert len(lists) == 1 and lists[0] <= 3, f"{path.name}: no exercise list near the top"
        text = "".join(cells[lists[0]]["source"])
        names = defined[path.stem]
        for name in names:
            assert f"`{name}`" in text, f"{path.name}: the list does not name {name}"
            starred = f"★ `{name}`" in text
            assert starred == EXERCISES[name].reasoning, f"{path.name}: {name} starred {starred}"
        assert any(EXERCISES[n].reasoning for n in names), f"{path.name}: no reasoning exercise"
