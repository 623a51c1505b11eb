"""The course's grader and notebook helpers, apart from the method (``redo_lite``): the checks
(``check_exercise``), fast-mode parameters, the course folder, colored-2-MNIST, pictures, the z
explorer and training curves.

    from course import check_exercise
    check_exercise("hinge_d", hinge_d)  # CHECK PASS, or CHECK FAIL: what differs, the likely cause

Each notebook's exercises live in ``course/exercises/nbNN.py`` (see docs/authoring.md).
"""

from .checks import (
    CheckFailedEarlier,
    Exercise,
    FailedCheck,
    Mistake,
    check,
    check_exercise,
    check_module,
    compare_one,
    diff_figure,
    pair_outputs,
    use_reference,
)
from .exercises import EXERCISES
from .notebook import (
    SHIPPED,
    benchmark_note,
    benchmark_pace,
    ensure_c2mnist,
    env,
    live_plot,
    pace_note,
    pick_run,
    plot_areas,
    plot_history,
    read_log,
    redraw_with,
    repo_root,
    run_failure,
    show,
    show_redraw_grid,
    show_row,
    z_explorer,
    z_sweep,
)

__all__ = [
    "EXERCISES",
    "CheckFailedEarlier",
    "FailedCheck",
    "SHIPPED",
    "Exercise",
    "Mistake",
    "benchmark_note",
    "benchmark_pace",
    "check",
    "check_exercise",
    "check_module",
    "compare_one",
    "diff_figure",
    "ensure_c2mnist",
    "env",
    "live_plot",
    "pace_note",
    "pair_outputs",
    "pick_run",
    "plot_areas",
    "plot_history",
    "read_log",
    "redraw_with",
    "repo_root",
    "run_failure",
    "show",
    "show_redraw_grid",
    "show_row",
    "use_reference",
    "z_explorer",
    "z_sweep",
]
