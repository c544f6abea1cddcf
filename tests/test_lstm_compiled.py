"""The compiled LSTM loops (rnnlab[fast]), with NumPy's BLAS and with oneDNN's packed
products, against the NumPy reference; the packed products and oneDNN's sgemm against
NumPy's matmul; the rational tanh's error bound; how the path is chosen."""
import numpy as np
import pytest
from conftest import _paths, on_path

from rnnlab.functional import backend, lstm_backward, lstm_forward, onednn
from rnnlab.functional.lstm import fused_loops

pytest.importorskip("numba")
from rnnlab.functional import lstm_compiled, lstm_fused, lstm_steps, lstm_team  # noqa: E402

COMPILED_PATHS = [path for path in _paths() if path != "numpy"]
needs_onednn = pytest.mark.skipif("onednn" not in COMPILED_PATHS,
                                  reason="oneDNN's wheel (onednn-cpu-gomp, Linux x86-64) does not load here")

# largest |difference| / largest |value| (compiled vs NumPy) per dtype: forward, gradients
TOLERANCE = {np.float64: (1e-12, 1e-12), np.float32: (1e-6, 1e-5)}
CASES = {  # name -> (N, T, D, H), forward/backward options
    "plain": ((4, 9, 5, 6), {}),
    "one row, one step": ((1, 1, 3, 2), {}),
    "one unit": ((3, 5, 2, 1), {}),
    "recurrent mask": ((5, 6, 4, 7), {"mask": True}),
    "state in and out": ((4, 8, 3, 5), {"c0": True, "finals": True}),
    "gradient on every c": ((3, 6, 4, 5), {"dc": True, "mask": True}),
    "wide": ((32, 12, 64, 128), {"c0": True}),
}


def _run(path, dtype, size, options, seed=0):
    with on_path(path):
        return _compute(path, dtype, size, options, seed)


def _compute(path, dtype, size, options, seed=0):
    """A forward and backward on the path already chosen -> outputs, gradients."""
    rng = np.random.default_rng(seed)
    N, T, D, H = size
    rand = lambda *shape, scale=1.0: (rng.standard_normal(shape) * scale).astype(dtype)  # noqa: E731
    x, h0, Wx, Wh, b = rand(N, T, D), rand(N, H), rand(D, 4 * H, scale=D**-0.5), rand(H, 4 * H, scale=H**-0.5), rand(4 * H)
    c0 = rand(N, H) if options.get("c0") else None
    mask = ((rng.random((N, H)) > 0.3) / 0.7).astype(dtype) if options.get("mask") else None
    dh = rand(N, T, H)
    finals = {"dh_final": rand(N, H), "dc_final": rand(N, H)} if options.get("finals") else {}
    dc = rand(N, T, H) if options.get("dc") else None
    assert fused_loops(x, Wh) is (lstm_fused if path == "numpy" else lstm_compiled)
    h, cache = lstm_forward(x, h0, Wx, Wh, b, c0, recurrent_mask=mask)
    grads = lstm_backward(dh, cache, dc=dc, **finals)
    return [h, cache.final_h, cache.final_c, cache.gates, cache.tanh_c], [*grads, grads.dc0]


def _largest_relative(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), np.finfo(b.dtype).tiny)


@pytest.mark.parametrize("path", COMPILED_PATHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_loops_equal_the_numpy_loops(case, dtype, path):
    size, options = CASES[case]
    forward_tol, gradient_tol = TOLERANCE[dtype]
    compiled, reference = _run(path, dtype, size, options), _run("numpy", dtype, size, options)
    for got, want in zip(compiled[0], reference[0]):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert _largest_relative(got, want) < forward_tol
    for got, want in zip(compiled[1], reference[1]):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert _largest_relative(got, want) < gradient_tol


def test_float32_tanh_error_bound():
    x = np.concatenate([np.linspace(-12, 12, 1_000_001), np.logspace(-30, 1, 10_000),
                        -np.logspace(-30, 1, 10_000)]).astype(np.float32)
    y = x.copy()
    lstm_steps.tanh_array(y)
    exact = np.tanh(x.astype(np.float64))
    assert np.abs(y - exact).max() < 4e-7
    small = np.abs(x) < 1e-3
    assert (np.abs(y[small] - exact[small]) <= 1e-6 * np.abs(exact[small])).all()
    assert np.abs(y).max() <= 1  # never outside [-1, 1]
    assert (np.sign(y) == np.sign(x)).all()


def test_float64_tanh_is_libm():
    x = np.linspace(-20, 20, 10_001)
    y = x.copy()
    lstm_steps.tanh_array(y)
    np.testing.assert_allclose(y, np.tanh(x), rtol=1e-15, atol=0)


def test_tanh_keeps_nan_and_saturates_at_infinity():
    y = np.array([np.nan, np.inf, -np.inf, 0.0], np.float32)
    lstm_steps.tanh_array(y)
    assert np.isnan(y[0]) and y[1] == 1 and y[2] == -1 and y[3] == 0


@pytest.mark.parametrize("path", COMPILED_PATHS)
def test_a_nan_state_stays_nan_on_the_compiled_path(path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    h0 = np.full((2, 4), np.nan, np.float32)
    Wx, Wh, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 16), (4, 16), (16,)))
    with on_path(path):
        h, _ = lstm_forward(x, h0, Wx, Wh, b)
    assert np.isnan(h).all()


def test_backend_choice(monkeypatch):
    monkeypatch.setattr(backend, "_chosen", None)
    monkeypatch.delenv(backend.BACKEND_VARIABLE, raising=False)
    assert backend.backend() == COMPILED_PATHS[0]  # the fastest installed is the default
    monkeypatch.setenv(backend.BACKEND_VARIABLE, "numpy")
    assert backend.backend() == "numpy"
    assert fused_loops(np.ones(2, np.float32)) is lstm_fused
    assert backend.set_backend("numba") == "numpy"  # a call overrides the variable
    assert backend.backend() == "numba"
    backend.set_backend(None)
    assert backend.backend() == "numpy"
    monkeypatch.setenv(backend.BACKEND_VARIABLE, "fortran")
    with pytest.raises(ValueError, match="RNNLAB_BACKEND: expected one of onednn, numba, numpy, got 'fortran'"):
        backend.backend()
    monkeypatch.delenv(backend.BACKEND_VARIABLE)
    with pytest.raises(ValueError, match="set_backend: expected one of onednn, numba, numpy, got 'c'"):
        backend.set_backend("c")


def test_numba_backend_without_numba_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "_numba_installed", lambda: False)
    monkeypatch.delenv(backend.BACKEND_VARIABLE, raising=False)
    monkeypatch.setattr(backend, "_chosen", None)
    assert backend.backend() == "numpy"
    with pytest.raises(ValueError, match=r"pip install 'rnnlab\[fast\]'"):
        backend.set_backend("numba")
    with pytest.raises(ValueError, match=r"the onednn backend needs Numba and oneDNN's wheel"):
        backend.set_backend("onednn")


@pytest.mark.parametrize("arrays", [
    (np.ones(3, np.float16),),
    (np.ones(3, np.float32), np.ones(3, np.float64)),
    (np.ones(3, np.int64),),
])
def test_arrays_the_compiled_loops_do_not_serve_take_the_reference(monkeypatch, arrays):
    monkeypatch.setattr(backend, "_chosen", "numba")
    assert not backend.compiled_loops_serve(*arrays)
    assert fused_loops(*arrays) is lstm_fused
    assert backend.compiled_loops_serve(np.ones(3, np.float32), None)


@pytest.mark.parametrize("path", COMPILED_PATHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_compiled_stepper_equals_the_numpy_stepper(dtype, path):
    from rnnlab.functional.lstm import lstm_stepper

    rng = np.random.default_rng(3)
    N, D, H = 2, 3, 5
    Wx, Wh, b = (rng.standard_normal(s).astype(dtype) for s in ((D, 4 * H), (H, 4 * H), (4 * H,)))
    c0, xs = rng.standard_normal((N, H)).astype(dtype), rng.standard_normal((6, N, D)).astype(dtype)
    states = {}
    for name in (path, "numpy"):
        with on_path(name):
            step = lstm_stepper(Wx, Wh, b, N)
            h, c = np.zeros((N, H), dtype), c0
            for x in xs:
                h, c = step(x, h, c)
        states[name] = (h, c)
    for got, want in zip(states[path], states["numpy"]):
        assert got.dtype == dtype and _largest_relative(got, want) < TOLERANCE[dtype][0]


def test_a_numba_that_does_not_import_means_the_numpy_path(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "numba":
            raise ImportError("numba built for another NumPy")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    backend._numba_installed.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="numba is installed but does not import"):
            assert not backend._numba_installed()
    finally:
        monkeypatch.undo()
        backend._numba_installed.cache_clear()
    assert backend._numba_installed()


@pytest.mark.parametrize("path", COMPILED_PATHS)
def test_prepare_fused_loops_compiles_the_kernels_for_a_dtype(path):
    from rnnlab.functional.lstm import prepare_fused_loops

    smallest = onednn.SMALLEST_PRODUCT  # the size the path packs from by itself
    with on_path(path):
        onednn.SMALLEST_PRODUCT = smallest  # on_path forces packing; prepare must not need it
        prepare_fused_loops(np.float32)
    compiled = {sig[0].dtype for sig in lstm_steps.forward_step.signatures}
    assert np.dtype(np.float32) in {np.dtype(str(d)) for d in compiled}
    assert lstm_steps.backward_step.signatures
    if path == "onednn":  # the loops that run whole in compiled code too
        assert lstm_team.forward_packed.signatures and lstm_team.backward_packed.signatures


@needs_onednn
@pytest.mark.parametrize("N,K,J", [(1, 7, 12), (3, 5, 20), (32, 128, 512), (16, 300, 77)])
@pytest.mark.parametrize("transposed", [False, True], ids=["W", "W.T view"])
def test_packed_product_equals_numpy_matmul(N, K, J, transposed):
    rng = np.random.default_rng(N + K)
    W = rng.standard_normal((J, K) if transposed else (K, J)).astype(np.float32)
    W = W.T if transposed else W
    product = onednn.PackedProduct(W, N)
    W_seen = W.copy()
    W[...] = 0  # packed when made: later changes to W are not seen
    out = np.empty((N, J), np.float32)
    for v in (rng.standard_normal((N, K)).astype(np.float32) for _ in range(3)):  # new v each call
        assert product(v, out) is out
        want = v.astype(np.float64) @ W_seen
        assert _largest_relative(out, want) < 1e-6


@needs_onednn
@pytest.mark.parametrize("N,D,H,takes", [(32, 64, 128, True), (8, 128, 256, True), (4, 100, 128, False),
                                         (3, 64, 200, False)])
def test_weights_packed_later_from_blocks_are_the_weights_packed_whole(N, D, H, takes):
    """A product packed later from blocks (here one part's columns of [Wx; Wh], gate by
    gate, as the units split packs them): the packing reads the blocks when it runs, and
    packs bit for bit what packing the assembled weights gives; None where a block's edge
    falls inside the packed layout's blocks (D or the part's units not a multiple of them),
    and the part's product then packs the weights assembled."""
    rng = np.random.default_rng(N + D)
    Wx, Wh = rng.standard_normal((D, 4 * H)).astype(np.float32), rng.standard_normal((H, 4 * H)).astype(np.float32)
    lo, hi = H // 2, H  # the second of two parts
    tiling = [(W[:, g * H + lo : g * H + hi], (row, g * (hi - lo))) for W, row in ((Wx, 0), (Wh, D)) for g in range(4)]
    shape = (D + H, 4 * (hi - lo))
    with on_path("onednn"):
        later = onednn.PackedProduct.packed_later(tiling, shape, N, 1)
        assert (later is not None) == takes
        if later is None:
            later = lstm_team._part_product(tiling, shape, N, 1)  # packs the weights assembled
            assert later.packing[2] == 1  # one copy: the assembled array
        else:
            Wh[:, 3 * H + lo] += 1  # seen: the blocks are read when the packing runs
        whole = lstm_team._assembled(tiling, shape)
        now = onednn.PackedProduct(whole, N)
        assert now.packing[2] == 0  # nothing left to pack
        with onednn.lock:
            assert lstm_steps.run_packing(later.packing.ctypes.data) == 0
        np.testing.assert_array_equal(later._packed, now._packed)
        v = rng.standard_normal((N, D + H)).astype(np.float32)
        np.testing.assert_array_equal(later(v, np.empty((N, shape[1]), np.float32)),
                                      now(v, np.empty((N, shape[1]), np.float32)))


@needs_onednn
@pytest.mark.parametrize("split", ["rows", "units"])
def test_a_layout_that_takes_no_block_packs_the_parts_before_the_loop(monkeypatch, split):
    """Where oneDNN would take no copy into a part of its packed layout (none here), each
    part's weights are assembled and packed before the loop, on this thread: the same
    results as the forward."""
    from rnnlab.functional import lstm_inference

    if split == "units":
        monkeypatch.setattr(lstm_team, "INFERENCE_SPLIT_BYTES", 0)
    monkeypatch.setattr(onednn, "_block_reorder", lambda *args: None)
    rng = np.random.default_rng(9)
    x, h0 = rng.standard_normal((32, 6, 64)).astype(np.float32), np.zeros((32, 128), np.float32)
    Wx, Wh = rng.standard_normal((64, 512)).astype(np.float32) / 8, rng.standard_normal((128, 512)).astype(np.float32) / 11
    b = rng.standard_normal(512).astype(np.float32)
    packings, real = [], lstm_team._part_product
    with on_path("onednn"):
        want, _ = lstm_forward(x, h0, Wx, Wh, b)
        monkeypatch.setattr(lstm_team, "_part_product", lambda *a: packings.append(real(*a)) or packings[-1])
        got, _ = lstm_inference(x, h0, Wx, Wh, b)
    assert len(packings) == 2 and all(product.packing[2] == 0 for product in packings)
    assert _largest_relative(got, want) < 1e-6


@needs_onednn
@pytest.mark.parametrize("split", ["rows", "units"])
def test_a_part_whose_packing_fails_raises_and_the_loop_still_ends(monkeypatch, split):
    """A part's thread packs its weights before its loop: a copy that fails (here a null
    primitive) ends in OneDNNError, and the units split's other thread, which waits at a
    barrier every step, is not left waiting."""
    from rnnlab.functional import lstm_inference

    if split == "units":
        monkeypatch.setattr(lstm_team, "INFERENCE_SPLIT_BYTES", 0)
    real = lstm_team._part_product

    def failing(*args):
        product = real(*args)
        product.packing[3] = 0  # the first copy's primitive
        return product

    monkeypatch.setattr(lstm_team, "_part_product", failing)
    rng = np.random.default_rng(8)
    x, h0 = rng.standard_normal((32, 6, 64)).astype(np.float32), np.zeros((32, 128), np.float32)
    Wx, Wh = rng.standard_normal((64, 512)).astype(np.float32), rng.standard_normal((128, 512)).astype(np.float32)
    with on_path("onednn"), pytest.raises(onednn.OneDNNError, match="primitive_execute failed"):
        lstm_inference(x, h0, Wx, Wh, np.zeros(512, np.float32))


@needs_onednn
@pytest.mark.parametrize("a_layout,b_layout", [("C", "C"), ("F", "C"), ("C", "F"), ("F", "F")])
def test_onednn_sgemm_equals_numpy_matmul_for_either_layout(a_layout, b_layout):
    rng = np.random.default_rng(1)
    a = np.asarray(rng.standard_normal((33, 17)), np.float32, order=a_layout)
    b = np.asarray(rng.standard_normal((17, 45)), np.float32, order=b_layout)
    got = onednn.matmul(a, b)
    assert got.shape == (33, 45) and got.dtype == np.float32 and got.flags.c_contiguous
    assert _largest_relative(got, a.astype(np.float64) @ b) < 1e-6


@needs_onednn
@pytest.mark.parametrize("a", [
    np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],  # no unit stride
    np.arange(12, dtype=np.float32).reshape(4, 3)[::-1],  # negative strides
    np.broadcast_to(np.arange(3, dtype=np.float32), (4, 3)),  # rows that overlap
], ids=["no unit stride", "negative", "broadcast"])
def test_onednn_sgemm_leaves_operands_it_cannot_read_and_empty_ones_to_numpy(a):
    b = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(onednn.matmul(a, b), a @ b)
    np.testing.assert_array_equal(onednn.matmul(b.T, a.T), b.T @ a.T)
    assert onednn.matmul(np.ones((0, 3), np.float32), b).shape == (0, 2)


def test_weights_oneDNN_cannot_read_run_on_numpy_blas_on_the_onednn_path():
    """A reversed view of Wh (negative strides) gives the same results as a copy of it."""
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((3, 4, 5)).astype(np.float32), np.zeros((3, 6), np.float32)
    Wx, b = rng.standard_normal((5, 24)).astype(np.float32), np.zeros(24, np.float32)
    Wh = rng.standard_normal((6, 24)).astype(np.float32)[::-1]
    with on_path(COMPILED_PATHS[0]):
        got, _ = lstm_forward(x, h0, Wx, Wh, b)
        want, _ = lstm_forward(x, h0, Wx, np.ascontiguousarray(Wh), b)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@needs_onednn
def test_the_packed_products_serve_float32_alone(monkeypatch):
    monkeypatch.setattr(backend, "_chosen", "onednn")
    assert backend.packed_products_serve(np.ones(3, np.float32), None)
    assert not backend.packed_products_serve(np.ones(3, np.float64))
    assert backend.compiled_loops_serve(np.ones(3, np.float64))  # float64: the loops with BLAS
    monkeypatch.setattr(backend, "_chosen", "numba")
    assert not backend.packed_products_serve(np.ones(3, np.float32))


def test_a_onednn_that_does_not_load_means_the_numba_path(monkeypatch):
    """Installed but not loadable (e.g. no libgomp on the system): one warning, then the
    compiled loops with NumPy's BLAS."""
    def no_library():
        raise OSError("libgomp.so.1: cannot open shared object file")

    monkeypatch.setattr(onednn.importlib.metadata, "distribution", lambda name: object())
    monkeypatch.setattr(onednn, "_runtime", no_library)
    monkeypatch.setattr(backend, "_chosen", None)
    monkeypatch.delenv(backend.BACKEND_VARIABLE, raising=False)
    onednn.available.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="onednn-cpu-gomp is installed but does not load "
                                                 r"\(libgomp.so.1: cannot open"):
            assert backend.backend() == "numba"
    finally:
        monkeypatch.undo()
        onednn.available.cache_clear()


@needs_onednn
def test_once_onednn_runs_numpy_blas_runs_one_thread():
    """One thread pool: NumPy's OpenBLAS set to one thread when oneDNN's threads take the
    LSTM's GEMMs (two pools on the same cores slowed the whole model 1.9x)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    onednn.matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
    assert onednn.numpy_blas_on_one_thread()
    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["internal_api"] == "openblas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


@needs_onednn
@pytest.mark.parametrize("split", ["each step's pass", "the whole loop"])
@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][0][0] > 1])
def test_loops_split_over_onednns_threads_give_what_one_thread_gives(monkeypatch, case, split):
    """The packed loops on oneDNN's OpenMP team, each thread its share of the rows: of each
    step's pass (weights above ROWS_SPLIT_BYTES), or of the whole loop, each thread with a
    product of its own: bit for bit what one thread gives, forward and backward, with a
    mask and a gradient on every c."""
    if split == "each step's pass":
        monkeypatch.setattr(lstm_team, "ROWS_SPLIT_BYTES", 0)
    assert lstm_team.step_team(2).size == 6  # the team serves
    with on_path("onednn"):
        W = np.ones((3, 8), np.float32)
        assert (lstm_team.RowSplit.make(W, 2, np.empty((2, 8), np.float32)) is None) == \
            (split == "each step's pass")
        assert lstm_team.RowSplit.make(W, 1, np.empty((1, 8), np.float32)) is None  # one row
    size, options = CASES[case]
    together = _run("onednn", np.float32, size, options)
    monkeypatch.setattr(onednn, "team", lambda: None)
    assert lstm_team.step_team(2).size == 0
    alone = _run("onednn", np.float32, size, options)
    for got, want in zip(together[0] + together[1], alone[0] + alone[1]):
        np.testing.assert_array_equal(got, want)


@needs_onednn
@pytest.mark.parametrize("split", ["rows", "units"])
@pytest.mark.parametrize("N,T,D,H", [(2, 7, 3, 5), (5, 9, 4, 6), (3, 0, 2, 4), (32, 12, 64, 128)])
def test_inference_projecting_its_own_inputs_equals_the_forward(monkeypatch, split, N, T, D, H):
    """On the onednn path lstm_inference runs one loop that projects its own inputs
    ([x_t, h_{t-1}] [Wx; Wh] a step), split by rows (each part its rows' product) or by
    units (each part its units' columns, a barrier a step): lstm_forward's outputs and
    final state, with c0 and without, parts of unequal rows or units, no step at all."""
    from rnnlab.functional import lstm_inference

    if split == "units":
        monkeypatch.setattr(lstm_team, "INFERENCE_SPLIT_BYTES", 0)
    served, by_units = [], []
    real, real_run = lstm_compiled.inference, lstm_team.UnitSplit.run
    monkeypatch.setattr(lstm_compiled, "inference", lambda *a: served.append(real(*a)) or served[-1])
    monkeypatch.setattr(lstm_team.UnitSplit, "run", lambda *a: by_units.append(1) or real_run(*a))
    rng = np.random.default_rng(5)
    rand = lambda *shape, scale=1.0: (rng.standard_normal(shape) * scale).astype(np.float32)  # noqa: E731
    x, h0, c0 = rand(N, T, D), rand(N, H), rand(N, H)
    Wx, Wh, b = rand(D, 4 * H, scale=D**-0.5), rand(H, 4 * H, scale=H**-0.5), rand(4 * H)
    with on_path("onednn"):
        for c_0 in (c0, None):
            want, cache = lstm_forward(x, h0, Wx, Wh, b, c_0)
            got, (h_T, c_T) = lstm_inference(x, h0, Wx, Wh, b, c_0)
            assert got.dtype == h_T.dtype == c_T.dtype == np.float32 and got.shape == want.shape
            assert _largest_relative(got, want) < 1e-6 if T else got.size == 0
            assert _largest_relative(h_T, cache.final_h) < 1e-6
            assert _largest_relative(c_T, cache.final_c) < 1e-6
    assert len(served) == 2 and all(done is not None for done in served)
    assert len(by_units) == (2 if split == "units" else 0)


@needs_onednn
@pytest.mark.parametrize("why", ["weights above INFERENCE_UNITS_BYTES", "a team short of threads"])
def test_inference_neither_split_serves_runs_the_stretches(monkeypatch, why):
    """[Wx; Wh] above INFERENCE_UNITS_BYTES (here 0; and too large to split by rows), or a
    team that ran fewer threads than the split has parts (its loop then runs nothing): the
    input projection a stretch at a time, then the loop."""
    from rnnlab.functional import lstm_inference

    monkeypatch.setattr(lstm_team, "INFERENCE_SPLIT_BYTES", 0)
    if why == "a team short of threads":
        real = lstm_team._run_loop

        def units_not_run(function, team, parts, sizes, arrays):
            if function is not lstm_team._unit_parts:
                return real(function, team, parts, sizes, arrays)
            parts[:, lstm_team.PART_STATUS] = lstm_team.NOT_RUN

        monkeypatch.setattr(lstm_team, "_run_loop", units_not_run)
    else:
        monkeypatch.setattr(lstm_team, "INFERENCE_UNITS_BYTES", 0)
    kinds, run = [], lstm_team.RowSplit.run
    monkeypatch.setattr(lstm_team.RowSplit, "run",
                        lambda self, kind, *a: kinds.append(kind) or run(self, kind, *a))
    rng = np.random.default_rng(6)
    x, h0 = rng.standard_normal((4, 5, 3)).astype(np.float32), np.zeros((4, 6), np.float32)
    Wx, Wh = rng.standard_normal((3, 24)).astype(np.float32), rng.standard_normal((6, 24)).astype(np.float32)
    b = np.zeros(24, np.float32)
    with on_path("onednn"):
        assert lstm_compiled.inference(x, h0, None, Wx, Wh, b) is None
        want, _ = lstm_forward(x, h0, Wx, Wh, b)
        got, _ = lstm_inference(x, h0, Wx, Wh, b)
    assert _largest_relative(got, want) < 1e-6
    assert lstm_team.INFERENCE not in kinds


@needs_onednn
@pytest.mark.parametrize("K,G,N,fits", [(64, 512, 32, True), (384, 1024, 64, True),
                                        (512, 1024, 16, True), (512, 1024, 14, False),
                                        (520, 1024, 64, False), (3, 8, 1, False)])
def test_inference_splits_by_rows_weights_that_fit_for_the_rows_of_a_part(monkeypatch, K, G, N, fits):
    """[Wx; Wh] up to 2 MiB in float32, and at most 256 KiB for each row of a part (here
    two parts): (512, 1024) is 2 MiB, enough for 16 rows, not for 14; one row never splits."""
    monkeypatch.setattr(onednn, "team_size", lambda: 2)
    assert lstm_team.inference_split_fits(K, G, N) == fits


@needs_onednn
@pytest.mark.parametrize("H,N,splits", [(512, 32, True), (512, 16, False), (1024, 128, False)])
def test_inference_splits_by_units_weights_up_to_8_mib_and_256_kib_a_row(monkeypatch, H, N, splits):
    """[Wx; Wh] (D = H) up to 8 MiB, and at most 256 KiB for each row: H = 512 is 8 MiB,
    enough for 32 rows, not for 16; H = 1024 (32 MiB) never."""
    monkeypatch.setattr(onednn, "team_size", lambda: 2)
    Wx, Wh, b = np.zeros((H, 4 * H), np.float32), np.zeros((H, 4 * H), np.float32), np.zeros(4 * H, np.float32)
    with on_path("onednn"):
        assert (lstm_team.UnitSplit.make(Wx, Wh, b, N) is not None) == splits


@needs_onednn
def test_threads_running_the_onednn_path_at_once_get_what_one_thread_gets():
    """oneDNN runs one call at a time (``onednn.lock``): with a stream per thread and no
    lock, rows of these results came out wrong once in a CI run."""
    from concurrent.futures import ThreadPoolExecutor

    def run(seed):
        return _compute("onednn", np.float32, (8, 20, 16, 32), {"mask": True}, seed)

    with on_path("onednn"):
        alone = [run(seed) for seed in range(4)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            together = list(pool.map(run, range(4)))
    for one, other in zip(alone, together):
        for got, want in zip(one[0] + one[1], other[0] + other[1]):
            np.testing.assert_array_equal(got, want)


@needs_onednn
def test_the_dense_layers_gemm_moves_to_onednn_once_onednn_holds_the_cores(monkeypatch):
    """Only after the onednn path computed in the process (NumPy's OpenBLAS then runs one
    thread); float32 on the onednn path alone; leading axes kept."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 5, 7)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32)
    calls = []
    real = onednn.matmul
    monkeypatch.setattr(onednn, "matmul", lambda x, y: calls.append(x.shape) or real(x, y))
    monkeypatch.setattr(onednn, "_cores_taken", False)
    with on_path("onednn"):
        np.testing.assert_array_equal(backend.gemm(a, b), a @ b)
    assert not calls
    monkeypatch.setattr(onednn, "_cores_taken", True)
    with on_path("onednn"):
        got = backend.gemm(a, b)
        backend.gemm(a.astype(np.float64), b.astype(np.float64))
    assert calls == [(10, 7)] and got.shape == (2, 5, 3)
    assert _largest_relative(got, a.astype(np.float64) @ b) < 1e-6
    with on_path("numba"):
        backend.gemm(a, b)
    monkeypatch.setattr(backend, "_chosen", "onednn")  # products below SMALLEST_PRODUCT: NumPy
    backend.gemm(a, b)
    assert calls == [(10, 7)]
