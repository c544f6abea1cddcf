"""The array module of the inputs: NumPy, or CuPy when any input lives on a GPU.

Functional code calls ``array_module(*arrays)`` once and uses what it returns, so
a CuPy backend needs no change to the cells.

Tests: every functional test (NumPy inputs); no GPU test runs here.
"""
import numpy as np


def array_module(*arrays):
    """Return ``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``."""
    for array in arrays:
        if type(array).__module__.partition(".")[0] == "cupy":
            import cupy

            return cupy
    return np
