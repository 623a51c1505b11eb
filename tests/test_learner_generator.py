"""The learner-notebook generator, on small course folders built here with nbformat: the scaffold
it keeps, each kind of statement, nested code, leaks of solution lines and hints, compilation."""

import nbformat
import pytest
from conftest import load_script

gen = load_script("tools/make_learner_notebooks.py")
STOP = "fill in the ... blanks below, then delete this line"


def course(tmp_path, *cells, name="01_demo.ipynb"):
    """A course folder with one solution notebook made of ``cells`` ("md:" marks markdown), after
    the Colab install cell every course notebook starts with (cell 0)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(gen.install_cell_source())] + [
        nbformat.v4.new_markdown_cell(c[3:])
        if c.startswith("md:")
        else nbformat.v4.new_code_cell(c)
        for c in cells
    ]
    (tmp_path / "solutions").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, tmp_path / "solutions" / name)
    return tmp_path


def learner_cell(root, index, name="01_demo.ipynb") -> str:
    """The index-th cell of a learner copy, without the Colab install cell the generator adds."""
    cells = nbformat.read(root / "notebooks" / name, as_version=4).cells
    return [c for c in cells if not c.source.startswith(gen.INSTALL_MARK)][index].source


SOLVED = '''def running(x, ys):
    """The running total."""
    ### BEGIN SOLUTION
    # HINT: a running total
    # 1. start the total
    total = 0
    a, b = x, x + 1
    ys[0] = a
    total += b
    n: int = len(ys)
    # 2. add every element
    for y in ys:
        # a comment inside the loop goes with it
        total = total + y
    print(total)
    log(
        total,
        n,
    )
    # 3. done
    return total * 2
    ### END SOLUTION'''

SCAFFOLD = f'''def running(x, ys):
    """The running total."""
    raise NotImplementedError("exercise: a running total — {STOP}")
    # 1. start the total
    total = ...
    a, b = ...
    ys[0] = ...
    total += ...
    n: int = ...
    # 2. add every element
    ...
    # 3. done
    return ...'''


def test_the_scaffold_keeps_step_comments_and_blanks_each_statement(tmp_path, capsys):
    root = course(tmp_path, SOLVED, "running(1, [0, 1])")
    assert gen.main(["--root", str(root)]) == 0
    assert learner_cell(root, 0) == SCAFFOLD
    assert learner_cell(root, 1) == "running(1, [0, 1])"
    assert gen.main(["--root", str(root), "--check"]) == 0
    assert "learner notebooks are current" in capsys.readouterr().out


def test_nested_blocks_keep_their_indentation_and_merge_blanks(tmp_path):
    solved = """class Net:
    def forward(self, x):
        ### BEGIN SOLUTION
        with no_grad():
            y = x
        if y:
            y = -y
        yield y
        return
        ### END SOLUTION

    def other(self):
        return 1"""
    root = course(tmp_path, solved)
    gen.main(["--root", str(root)])
    assert learner_cell(root, 0) == (
        "class Net:\n    def forward(self, x):\n"
        f'        raise NotImplementedError("exercise: {STOP}")\n'
        "        ...\n        return\n\n    def other(self):\n        return 1"
    )


def test_several_blocks_in_one_cell_and_ipython_magics(tmp_path):
    solved = """%matplotlib inline
def f(x):
    ### BEGIN SOLUTION
    # HINT: "quotes" stay valid
    return x
    ### END SOLUTION


def g(x):
    ### BEGIN SOLUTION
    return x
    ### END SOLUTION"""
    root = course(tmp_path, solved)
    assert gen.main(["--root", str(root)]) == 0
    src = learner_cell(root, 0)
    assert src.count("raise NotImplementedError(") == 2
    assert 'NotImplementedError("exercise: \\"quotes\\" stay valid — ' in src


def test_a_solution_line_left_in_the_learner_copy_is_a_leak(tmp_path, capsys):
    solved = (
        "def f(x):\n    ### BEGIN SOLUTION\n    loss = torch.relu(1 - x).mean()\n"
        "    return loss\n    ### END SOLUTION"
    )
    root = course(tmp_path, "md:Compute `loss = torch.relu(1 - x).mean()`", solved)
    assert gen.main(["--root", str(root)]) == 1  # written, but reported
    assert gen.main(["--root", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    assert "notebooks/01_demo.ipynb cell 1 line 1: gives away the solution line" in out
    assert "torch.relu(1 - x).mean()" in out


def test_a_short_line_is_not_a_leak(tmp_path):
    solved = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"
    root = course(tmp_path, "md:return x + 1", solved)
    assert gen.main(["--root", str(root)]) == 0


def test_a_hint_nearly_equal_to_a_solution_line_is_a_leak(tmp_path, capsys):
    leaky = "    # HINT: drawn + (1 - masks[:, :, None]) * image[:, None]\n"
    fine = "    # HINT: the input is kept where the mask is not\n"
    body = "    return drawn + (1 - masks[:, :, None]) * image[:, None]\n    ### END SOLUTION"
    head = "def redraw(image, masks, drawn):\n    ### BEGIN SOLUTION\n"
    root = course(tmp_path / "a", head + leaky + body)
    assert gen.main(["--root", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    assert "notebooks/01_demo.ipynb cell 1 line 2: the hint" in out and "similarity" in out
    root = course(tmp_path / "b", head + fine + body)
    assert gen.main(["--root", str(root)]) == 0


def test_a_learner_copy_that_does_not_compile_is_refused(tmp_path, capsys):
    solved = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\nf(1))"
    root = course(tmp_path, solved)
    assert gen.main(["--root", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    assert "notebooks/01_demo.ipynb cell 1 line 4: the learner copy does not compile" in out
    with pytest.raises(gen.ExerciseError, match="does not compile"):
        gen.compile_cell("def f(:\n    pass", "cell")


def test_broken_markers_name_the_notebook_and_cell(tmp_path, capsys):
    root = course(tmp_path, "x = 1", "def f():\n    ### BEGIN SOLUTION\n    return 1")
    assert gen.main(["--root", str(root), "--check"]) == 1
    assert "solutions/01_demo.ipynb cell 2: line 2: ### BEGIN SOLUTION without ### END" in (
        capsys.readouterr().out
    )
    root = course(
        tmp_path / "b", "if a:\n    pass\n### BEGIN SOLUTION\nelif b:\n    pass\n### END SOLUTION"
    )
    assert gen.main(["--root", str(root), "--check"]) == 1
    assert "solutions/01_demo.ipynb cell 1: line 1 of the block: invalid syntax" in (
        capsys.readouterr().out
    )


def test_check_reports_a_stale_copy(tmp_path, capsys):
    root = course(tmp_path, SOLVED)
    assert gen.main(["--root", str(root), "--check"]) == 1
    assert "stale" in capsys.readouterr().out
    gen.main(["--root", str(root)])
    (root / "notebooks" / "01_demo.ipynb").write_text(
        (root / "notebooks" / "01_demo.ipynb").read_text().replace("total = ...", "total = 0")
    )
    assert gen.main(["--root", str(root), "--check"]) == 1
