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
