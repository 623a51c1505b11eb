"""Beyond the paper: what the course measures beside ReDO, kept apart from the method.

* ``selftrain``: F trained on its own masks filtered by the image's colours (a phase after ReDO);
* ``iem``: inpainting error maximisation (Savarese et al. 2021), a second label-free method;
* ``baselines``: the centred box, colour k-means and GrabCut, with no learning at all;
* ``supervised``: F trained on k true masks (the paper's Figure 4).

A package of its own beside ``redo_lite`` (the method, its loop and harness): it imports from
``redo_lite``, and nothing in the method (``process``, ``losses``, ``step``, ``nets``) or the
loop (``train``) imports from here; only the command line's ``self-train`` and the phase after
ReDO in ``train`` call ``beyond.selftrain``. docs/faithful.md lists each of them under "beyond
the paper".
"""
