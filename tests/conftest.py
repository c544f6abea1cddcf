from contextlib import contextmanager

import numpy as np
import pytest

from rnnlab.testing import numerical_gradient, rel_error

FD_TOLERANCE = 1e-6  # float64 finite differences, relative error in the max norm

# (N, T, D, H): odd sizes, a single sequence of a single step, and a one-feature input
# (empty batches and sequences: test_lstm.py, test_rnn.py, test_properties.py)
SIZES = [(3, 7, 5, 6), (1, 1, 4, 3), (2, 4, 1, 2)]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def assert_gradients(f, inputs, analytic, df, tol=FD_TOLERANCE):
    """Compare each analytic gradient with central differences of sum(f() * df).

    inputs: name -> array that f reads (perturbed in place); analytic: name -> gradient.
    """
    for name, array in inputs.items():
        numeric = numerical_gradient(lambda _: f(), array, df)
        error = rel_error(numeric, analytic[name])
        assert error < tol, f"d{name}: relative error {error:.2e} against finite differences"

def assert_single_state_gradients(rng, forward, backward, arrays, **options):
    """A one-state cell's sequence backward (dx, dh0, dWx, dWh, db) against finite
    differences, with random upstream gradients on every step and on h_T; ``arrays``:
    x, h0, Wx, Wh, b. -> the forward's cache."""
    h, cache = forward(**arrays, **options)
    dh, dh_final = rng.standard_normal(h.shape), rng.standard_normal(cache.final_h.shape)
    grads = backward(dh, cache, dh_final=dh_final)

    def f():
        h, cache = forward(**arrays, **options)
        return h, cache.final_h

    assert_gradients(f, arrays, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)), (dh, dh_final))
    return cache


# The one tolerance table of the oracle tests (relative error in the max norm, unless a
# test says otherwise): PyTorch autograd in float64, ONNX Runtime in float32.
TOLERANCES = {"finite_differences": FD_TOLERANCE, "torch_float64": 1e-10, "onnx_float32": 1e-5}


# The LSTM's time loops (and the GRU's forward loop) have three paths
# (rnnlab.functional.backend): every test of these modules runs on each that is installed
# (the compiled ones need Numba, "onednn" also oneDNN's wheel).
BOTH_PATHS_MODULES = {"test_lstm", "test_gru", "test_recurrent_mask", "test_torch_crosscheck",
                      "test_onnx_crosscheck", "test_layers_torch", "test_models"}


def _paths():
    from rnnlab.functional.backend import _numba_installed, _onednn_loads

    return (["onednn"] if _onednn_loads() else []) + (["numba"] if _numba_installed() else []) + ["numpy"]


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in BOTH_PATHS_MODULES:
        metafunc.fixturenames.append("loop_path")
        metafunc.parametrize("loop_path", _paths(), indirect=True)


@contextmanager
def on_path(path):
    """The LSTM's loops on ``path`` ("onednn", "numba" or "numpy") inside; the default
    afterwards. On "onednn" every float32 product that can run on oneDNN does, however
    small (the tests' sizes are below the size from which the path uses it by itself)."""
    from rnnlab.functional.backend import set_backend

    set_backend(path)
    if path == "onednn":
        from rnnlab.functional import onednn

        smallest, onednn.SMALLEST_PRODUCT = onednn.SMALLEST_PRODUCT, 0
    try:
        yield path
    finally:
        set_backend(None)
        if path == "onednn":
            onednn.SMALLEST_PRODUCT = smallest


@pytest.fixture
def loop_path(request):
    """Run the test with the recurrent loops on request.param ("onednn", "numba" or "numpy")."""
    with on_path(request.param):
        yield request.param
