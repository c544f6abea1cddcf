"""GRU, both conventions: finite differences, step-vs-sequence (PyTorch nn.GRU:
tests/test_torch_crosscheck.py)."""
import numpy as np
import pytest
from conftest import SIZES, assert_gradients, assert_single_state_gradients

from rnnlab.functional import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from rnnlab.testing import rel_error


def make_gru(rng, N, T, D, H, reset_after, dtype=np.float64):
    return dict(
        x=rng.standard_normal((N, T, D)).astype(dtype),
        h0=rng.standard_normal((N, H)).astype(dtype),
        Wx=(rng.standard_normal((D, 3 * H)) / np.sqrt(D)).astype(dtype),
        Wh=(rng.standard_normal((H, 3 * H)) / np.sqrt(H)).astype(dtype),
        b=(rng.standard_normal((2, 3 * H) if reset_after else 3 * H) * 0.3).astype(dtype),
    )


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("N,T,D,H", SIZES)
def test_gru_backward_matches_finite_differences(rng, reset_after, N, T, D, H):
    p = make_gru(rng, N, T, D, H, reset_after)
    h, cache = gru_forward(**p, reset_after=reset_after)
    dh, dh_final = rng.standard_normal(h.shape), rng.standard_normal((N, H))
    grads = gru_backward(dh, cache, dh_final=dh_final)

    def f():
        h, cache = gru_forward(**p, reset_after=reset_after)
        return h, cache.final_h

    assert_gradients(f, p, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)), (dh, dh_final))


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_sequence_equals_steps(rng, reset_after):
    N, T, D, H = 3, 6, 4, 5
    p = make_gru(rng, N, T, D, H, reset_after)
    h, cache = gru_forward(**p, reset_after=reset_after)
    dh = rng.standard_normal(h.shape)
    dx, dh0, *dW = gru_backward(dh, cache)
    prev_h, caches = p["h0"], []
    for t in range(T):
        prev_h, step_cache = gru_step_forward(p["x"][:, t], prev_h, p["Wx"], p["Wh"], p["b"], reset_after)
        caches.append(step_cache)
        assert rel_error(prev_h, h[:, t]) < 1e-14
    step_dx, total, dprev_h = np.zeros_like(dx), [0, 0, 0], np.zeros((N, H))
    for t in reversed(range(T)):
        step_dx[:, t], dprev_h, *step_dW = gru_step_backward(dh[:, t] + dprev_h, caches[t])
        total = [a + b for a, b in zip(total, step_dW)]
    for name, a, b in zip(["dx", "dh0", "dWx", "dWh", "db"], [step_dx, dprev_h, *total], [dx, dh0, *dW]):
        assert rel_error(a, b) < 1e-12, name


def test_reset_before_and_after_differ_only_through_the_reset_gate(rng):
    """With r = 1 (large r bias) and no recurrent n-bias, both conventions agree."""
    p = make_gru(rng, 2, 5, 3, 4, True)
    p["b"][:, :4] = 30.0  # r -> 1
    p["b"][1, 8:] = 0.0  # bh_n = 0
    h_after, _ = gru_forward(**p, reset_after=True)
    b_before = p["b"][0] + np.concatenate([p["b"][1, :8], np.zeros(4)])
    h_before, _ = gru_forward(**{**p, "b": b_before}, reset_after=False)
    assert rel_error(h_after, h_before) < 1e-12


def test_gru_rejects_bias_of_the_other_convention():
    args = dict(x=np.zeros((2, 3, 4)), h0=np.zeros((2, 5)), Wx=np.zeros((4, 15)), Wh=np.zeros((5, 15)))
    with pytest.raises(ValueError, match=r"b: expected a 2-D array of shape \(2, 3H\) = \(2, 15\), got shape \(15,\)"):
        gru_forward(**args, b=np.zeros(15))
    with pytest.raises(ValueError, match=r"b: expected a 1-D array of shape \(3H,\) = \(15,\), got shape \(2, 15\)"):
        gru_forward(**args, b=np.zeros((2, 15)), reset_after=False)


GRU_OPTIONS = {
    "clip": dict(gate_clip=0.7),
    "activations": dict(activations=(("hardsigmoid", 0.3, 0.45), "softsign")),
    "activations_clip": dict(activations=("softplus", ("scaledtanh", 1.3, 0.8)), gate_clip=1.1),
    "activations_kinked": dict(activations=(("leakyrelu", 0.2), "elu")),
}


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("options", GRU_OPTIONS)
def test_gru_options_match_finite_differences(rng, reset_after, options):
    """ONNX's GRU options (clip, activations): the hand-derived backward of each."""
    N, T, D, H = 3, 5, 4, 6
    p = make_gru(rng, N, T, D, H, reset_after)
    p["Wx"] *= 3  # pre-activations beyond the clip
    kw = dict(reset_after=reset_after, **GRU_OPTIONS[options])
    cache = assert_single_state_gradients(rng, gru_forward, gru_backward, p, **kw)
    if "gate_clip" in kw:
        assert not cache.gate_inside.all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,T,D,H,mask", [(3, 7, 4, 5, False), (3, 7, 4, 5, True), (1, 1, 2, 1, False),
                                          (32, 20, 16, 128, True)])
def test_the_compiled_forward_equals_the_numpy_steps(rng, monkeypatch, dtype, N, T, D, H, mask):
    """The compiled GRU forward (reset_after, sigmoid and tanh, no clip) fills the cache's
    buffers as the NumPy steps do: float64 to 1e-12, float32 to 1e-6 (its rational tanh);
    the backward, which reads them, then agrees too."""
    pytest.importorskip("numba")
    from rnnlab.functional import gru_compiled
    from rnnlab.functional.backend import set_backend

    calls, loop = [], gru_compiled.forward_loop
    monkeypatch.setattr(gru_compiled, "forward_loop", lambda *a: calls.append(1) or loop(*a))

    p = make_gru(rng, N, T, D, H, True, dtype)
    m = (rng.random((N, H)) > 0.3).astype(dtype) / dtype(0.7) if mask else None
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    runs = {}
    for path in ("numba", "numpy"):
        before = set_backend(path)
        try:
            h, cache = gru_forward(**p, recurrent_mask=m)
            runs[path] = (h, cache, gru_backward(dh, cache))
        finally:
            set_backend(before)
    assert len(calls) == 1  # the numba path ran the compiled loop, the numpy path did not
    (h, cache, grads), (h_ref, cache_ref, grads_ref) = runs["numba"], runs["numpy"]
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for name in ("gates", "hn", "h"):
        assert rel_error(getattr(cache, name), getattr(cache_ref, name)) < tol, name
    assert rel_error(h, h_ref) < tol
    for name, got, want in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, grads_ref):
        assert rel_error(got, want) < 10 * tol, name


@pytest.mark.parametrize("options", [dict(reset_after=False), dict(activations=("hardsigmoid", "tanh")),
                                     dict(gate_clip=1.0)], ids=["reset_before", "activations", "clip"])
def test_what_the_compiled_forward_does_not_serve_runs_the_numpy_steps(rng, monkeypatch, options):
    pytest.importorskip("numba")
    from rnnlab.functional import gru_compiled

    monkeypatch.setattr(gru_compiled, "forward_loop", None)  # calling it would fail
    p = make_gru(rng, 2, 3, 4, 5, options.get("reset_after", True))
    gru_forward(**p, **options)
