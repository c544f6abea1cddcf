"""Which arrays and which code: the array module of the inputs (NumPy, or CuPy when
an input lives on a GPU), and the path the LSTM's time loops take.

Functional code calls ``array_module(*arrays)`` once and uses what it returns, so
a CuPy backend needs no change to the cells.

``backend()`` says which path runs the plain LSTM's loops, the fastest installed by
default (``pip install 'rnnlab[fast]'`` installs both extras):

- "onednn": the compiled loops of ``lstm_compiled.py`` with their per-step products on
  weights packed once by oneDNN (``onednn.py``; float32, Numba and oneDNN's wheel);
- "numba": the same compiled loops with NumPy's BLAS for the per-step products;
- "numpy": ``lstm_fused.py``, the reference.

``set_backend(name)`` or the environment variable ``RNNLAB_BACKEND=name`` forces one;
``set_backend(None)`` goes back to the default. Arrays a path does not serve take the
next one by themselves: float64 the compiled loops with NumPy's BLAS; CuPy arrays and
dtypes other than float32 and float64 the reference.

Tests: every functional test (NumPy inputs); tests/test_lstm_compiled.py.
"""
import functools
import importlib.util
import os
import warnings

import numpy as np

BACKENDS = ("onednn", "numba", "numpy")
BACKEND_VARIABLE = "RNNLAB_BACKEND"
COMPILED_DTYPES = (np.float32, np.float64)
_chosen = None  # set_backend's choice; None: the environment variable, else the default


def array_module(*arrays):
    """Return ``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``."""
    for array in arrays:
        if type(array).__module__.partition(".")[0] == "cupy":
            import cupy

            return cupy
    return np


@functools.lru_cache(maxsize=None)
def _numba_installed():
    """Whether Numba imports; one warning when it is installed but does not import
    (e.g. built for another NumPy): the LSTM then runs on the NumPy path."""
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        import numba  # noqa: F401
    except Exception as error:  # any failure to import means: no compiled path
        warnings.warn(f"numba is installed but does not import ({error}); the LSTM runs "
                      f"on the NumPy path", RuntimeWarning, stacklevel=2)
        return False
    return True


def _onednn_loads():
    """Whether the packed per-step products run: Numba for the loops and oneDNN's library."""
    from . import onednn

    return _numba_installed() and onednn.available()


def _checked(name, source):
    if name not in BACKENDS:
        raise ValueError(f"{source}: expected one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "numba" and not _numba_installed():
        raise ValueError(f"{source}: the numba backend needs Numba: pip install 'rnnlab[fast]'")
    if name == "onednn" and not _onednn_loads():
        raise ValueError(f"{source}: the onednn backend needs Numba and oneDNN's wheel "
                         f"(Linux x86-64): pip install 'rnnlab[fast]'")
    return name


def backend():
    """The path the LSTM's time loops take now: "onednn", "numba" or "numpy"."""
    if _chosen is not None:
        return _chosen
    variable = os.environ.get(BACKEND_VARIABLE)
    if variable:
        return _checked(variable.strip().lower(), BACKEND_VARIABLE)
    if _onednn_loads():
        return "onednn"
    return "numba" if _numba_installed() else "numpy"


def check_backend_variable():
    """Raise now the one-line ValueError of a bad RNNLAB_BACKEND (the command line checks
    it before it writes anything), else nothing."""
    if os.environ.get(BACKEND_VARIABLE):
        backend()


def set_backend(name):
    """Force a path ("onednn", "numba" or "numpy"); None: back to RNNLAB_BACKEND or the
    default.
    -> the path that ran before."""
    global _chosen
    chosen = None if name is None else _checked(name, "set_backend")
    before = backend()
    _chosen = chosen
    return before


def compiled_loops_serve(*arrays):
    """Whether the compiled loops run for these arrays: the onednn or numba backend,
    NumPy arrays of one dtype among COMPILED_DTYPES."""
    if backend() == "numpy":
        return False
    dtypes = {array.dtype for array in arrays if array is not None}
    return (all(type(array) is np.ndarray for array in arrays if array is not None)
            and len(dtypes) == 1 and dtypes.pop() in COMPILED_DTYPES)


def packed_products_serve(*arrays):
    """Whether the compiled loops' per-step products run on packed weights (onednn.py) for
    these arrays: the onednn backend and float32 (the compiled loops serve them)."""
    return (backend() == "onednn" and compiled_loops_serve(*arrays)
            and next(a for a in arrays if a is not None).dtype == np.float32)


def gemm(a, b):
    """a @ b for the layers around the LSTM (dense, tied dense): by oneDNN's sgemm, on the
    two threads that hold the cores, once the onednn path has computed in this process
    (float32, from ``onednn.SMALLEST_PRODUCT`` multiply-adds; NumPy's OpenBLAS then runs
    one thread), by NumPy otherwise. ``a`` may have leading axes (..., K)."""
    if packed_products_serve(a, b):
        from . import onednn

        if onednn.holds_the_cores() and a.size * b.shape[1] >= onednn.SMALLEST_PRODUCT:
            rows = a.reshape(-1, a.shape[-1])
            return onednn.matmul(rows, b).reshape(a.shape[:-1] + (b.shape[1],))
    return a @ b
