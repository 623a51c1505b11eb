"""redo_lite: ReDO (Chen, Artières, Denoyer, NeurIPS 2019; arXiv 1905.13539), small enough to
read, and to train on a CPU."""

__version__ = "0.1.0"
