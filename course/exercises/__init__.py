"""The course's exercises, one module per notebook (``nb01`` ... ``nb11``): each holds that
notebook's exercises, their references, seeded inputs and typical mistakes, and registers them
with :func:`course.registry.register`. Importing this package registers them all."""

from ..registry import EXERCISES
from . import nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11  # noqa: F401

__all__ = ["EXERCISES"]
