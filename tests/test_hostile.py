"""The hostile-input table (``tests/hostile_cases.toml``), run through the real command lines.

Each row is a case: the command, the hostile thing planted in a sandbox, what the one error line
must say and what must be kept (``tests/hostile.py`` says how a row is read and judged). The
default suite runs the rows marked ``quick = true``; the whole table runs with ``-m hostile``:

    python3 -m pytest -m hostile tests/test_hostile.py
"""

import hostile
import pytest

CASES = hostile.load_cases()


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """data/ (c2mnist 16 px), run/ (2 steps on it), photos/ (three of the user's images)."""
    return hostile.build_template(tmp_path_factory.mktemp("hostile") / "template")


def marks(case):
    out = [pytest.mark.hostile]  # the quick ones run by default too (tests/conftest.py)
    if case.own_process or "train" in case.command or "demo" in case.command:
        out.append(pytest.mark.slow)  # a process of its own, or a training: seconds to minutes
    return out


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=marks(c)) for c in CASES])
def test_hostile_input(case, template, tmp_path):
    try:
        problems = hostile.run_case(case, template, tmp_path)
    except hostile.Skip as e:
        pytest.skip(str(e))
    assert not problems, f"{case.name} ({case.kind}): " + "; ".join(problems)


def test_the_table_is_well_formed():
    """Every row names a known kind and outcome, a command that exists, and, for a refusal,
    what the error line must say (a refusal that names nothing is a case that cannot fail)."""
    kinds = {"lost", "silent", "hang", "traceback", "unclear"}
    for c in CASES:
        assert c.kind in kinds, c.name
        assert c.expect in ("refuse", "ok", "interrupt"), c.name
        assert c.command[0] == "redo_lite" or c.command[0].startswith("data_prep."), c.name
        assert c.expect != "refuse" or c.says, f"{c.name}: a refusal with nothing to say"
        assert c.expect == "refuse" or c.check or c.keeps != ["."], f"{c.name}: nothing checked"
    assert {c.kind for c in CASES if c.quick} == kinds  # the quick sample has every kind
