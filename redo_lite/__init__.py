"""redo_lite: ReDO (Chen, Artières, Denoyer, NeurIPS 2019) small enough to read, and to train on a CPU."""

__version__ = "0.1.0"
