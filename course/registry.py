"""Where the course's exercises are registered, one way: each notebook's module in
``course/exercises/`` builds its :class:`Exercise` objects and calls :func:`register`; the checks
(:mod:`course.checks`) read them with :func:`exercises`. This module imports neither, so the
checks and the exercises never import each other."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EXERCISES: dict[str, Any] = {}  # name -> Exercise, in the order the notebooks register them


@dataclass
class Mistake:
    """A typical wrong answer. ``fn`` is a wrong implementation with the exercise's interface (the
    learner's output matching its output, within the exercise's tolerance, triggers the
    diagnosis); ``test(got, expected)`` instead recognises a family of wrong outputs, and
    ``example`` is one wrong implementation of that family (the tests feed it to the check)."""

    diagnosis: str
    fn: Callable | None = None
    test: Callable[[Any, Any], bool] | None = None
    example: Callable | None = None


@dataclass
class Exercise:
    """One exercise of the course: what to compare the learner's code with, on which inputs.

    ``inputs``: zero-argument builders, called after ``torch.manual_seed(seed)``, once per run (so
    an in-place change cannot leak from one run into the next). ``outputs``: the names of a tuple
    output's items (or the one output's name). ``wrap(candidate)``: turns the learner's object
    (a module class, a training step) into a function of the inputs; plain functions need none.
    ``split(output)``: a dict of named parts of one output (e.g. channel groups). ``reasoning``:
    the exercise's answer is not on the page; the learner derives it from the method.
    ``package``: where the package computes what the exercise rebuilds (a dotted name), when the
    reference is not itself the package's function (the README's notebook -> module table)."""

    name: str
    notebook: str
    reference: Callable
    inputs: tuple[Callable[[], Any], ...]
    outputs: tuple[str, ...] = ()
    atol: float = 1e-5
    rtol: float = 1e-5
    seed: int = 0
    wrap: Callable[[Any], Callable] | None = None
    split: Callable[[Any], dict] | None = None
    mistakes: tuple[Mistake, ...] = field(default_factory=tuple)
    reasoning: bool = False
    package: str = ""


class ParametersDiffer(Exception):
    """The learner's module cannot take the reference's weights (names or shapes differ)."""


def register(ex: Exercise) -> Exercise:
    """Add one exercise to the course (its name must be new)."""
    if ex.name in EXERCISES:
        raise ValueError(f"exercise {ex.name!r} is registered twice")
    EXERCISES[ex.name] = ex
    return ex


def exercises() -> dict[str, Exercise]:
    """Every registered exercise: importing ``course.exercises`` runs each notebook's
    module once."""
    importlib.import_module("course.exercises")
    return EXERCISES
