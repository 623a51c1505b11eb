"""Sphinx configuration of the course site; built by ``bash tools/build_site.sh`` from the sources
that tools/build_site.py stages (executed notebooks, docs pages, API pages)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from make_learner_notebooks import REPO_URL  # noqa: E402

project = "redo-course"
html_title = "ReDO, built and run: a course"
author = "the redo-course authors"
extensions = [
    "myst_nb",  # notebooks (with their stored outputs) and markdown pages
    "sphinx.ext.autodoc",  # the API reference from the package's docstrings
    "sphinx.ext.viewcode",  # ... with the source beside it
    "sphinx-mathjax-offline",  # MathJax copied into the site: equations render without a CDN
]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # tools/build_site.py executed them already (papermill)
nb_merge_streams = True
exclude_patterns = ["_build", "**.partial.ipynb"]
autodoc_member_order = "bysource"
autodoc_default_options = {"exclude-members": "__weakref__"}
suppress_warnings = ["myst.xref_missing"]

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "",  # a notebook page maps to notebooks/NN_*.ipynb: the learner copy
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}
# the theme's own default colour mode, said: left empty, every page logs a console error
html_context = {"default_mode": "auto"}
html_favicon = "favicon.svg"  # three regions; without one, browsers log a 404 for /favicon.ico
html_last_updated_fmt = "%Y-%m-%d"
# The theme's colour mode on a first visit (nothing saved in the browser yet): without it the
# theme logs "Got invalid theme mode" on the first page. Light: the figures are drawn on white.
html_context = {"default_mode": "light"}
html_favicon = "favicon.svg"  # copied into _static/ and linked from every page


def course_ends_at_notebook_11(app, pagename, templatename, context, doctree):
    """The course is read in order, 00 to 11, and ends at the last notebook's summary: its page
    has no "next" link into the guides, and the first guide has no "previous" link back into the
    course (the guides and the API reference are read on their own, from the sidebar)."""
    relations = app.env.collect_relations().get(pagename)
    if not relations:
        return
    _, prev, nxt = relations
    in_course = pagename.startswith("notebooks/")
    if nxt and in_course and not nxt.startswith("notebooks/"):
        context["next"] = None
    if prev and not in_course and prev.startswith("notebooks/"):
        context["prev"] = None


def setup(app):
    app.connect("html-page-context", course_ends_at_notebook_11)
