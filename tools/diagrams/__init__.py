"""The course's explanatory diagrams, one module per notebook (``nbXX_*.py``), each with a dict
``FIGURES`` mapping a file name (``notebooks/figures/<name>.svg``) to a function ``draw(path)``."""
