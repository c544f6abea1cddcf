"""LSTM: finite differences of every input (x, h0, c0, weights, final-state gradients),
step-vs-sequence, edge cases."""
import numpy as np
import pytest
from conftest import SIZES, assert_gradients

from rnnlab.functional import (
    lstm_backward,
    lstm_forward,
    lstm_inference,
    lstm_step_backward,
    lstm_step_forward,
    split_gates,
)
from rnnlab.testing import rel_error


def make_lstm(rng, N, T, D, H, dtype=np.float64):
    return dict(
        x=rng.standard_normal((N, T, D)).astype(dtype),
        h0=rng.standard_normal((N, H)).astype(dtype),
        c0=rng.standard_normal((N, H)).astype(dtype),
        Wx=(rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype),
        Wh=(rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype),
        b=(rng.standard_normal(4 * H) * 0.1).astype(dtype),
    )


@pytest.mark.parametrize("N,T,D,H", SIZES)
@pytest.mark.parametrize("final_gradient", [False, True])
def test_lstm_backward_matches_finite_differences(rng, N, T, D, H, final_gradient):
    p = make_lstm(rng, N, T, D, H)
    h, cache = lstm_forward(**p)
    dh = rng.standard_normal(h.shape)
    zero = np.zeros((N, H))
    dh_final = rng.standard_normal((N, H)) if final_gradient else zero
    dc_final = rng.standard_normal((N, H)) if final_gradient else zero
    if final_gradient:
        grads = lstm_backward(dh, cache, dh_final=dh_final, dc_final=dc_final)
    else:
        grads = lstm_backward(dh, cache)

    def f():
        h, cache = lstm_forward(**p)
        return h, cache.final_h, cache.final_c

    analytic = dict(zip(["x", "h0", "Wx", "Wh", "b"], grads), c0=grads.dc0)
    assert_gradients(f, p, analytic, (dh, dh_final, dc_final))


def test_lstm_without_c0_starts_from_zero(rng):
    p = make_lstm(rng, 3, 5, 4, 6)
    h_default, _ = lstm_forward(**{k: v for k, v in p.items() if k != "c0"})
    h_zero, _ = lstm_forward(**{**p, "c0": np.zeros((3, 6))})
    np.testing.assert_array_equal(h_default, h_zero)


def test_lstm_step_backward_matches_finite_differences(rng):
    p = make_lstm(rng, 3, 1, 5, 6)
    p["x"] = p["x"][:, 0].copy()
    args = lambda: (p["x"], p["h0"], p["c0"], p["Wx"], p["Wh"], p["b"])  # noqa: E731
    next_h, next_c, cache = lstm_step_forward(*args())
    dnext_h, dnext_c = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    analytic = dict(x=dx, h0=dprev_h, c0=dprev_c, Wx=dWx, Wh=dWh, b=db)
    assert_gradients(lambda: lstm_step_forward(*args())[:2], p, analytic, (dnext_h, dnext_c))


def test_lstm_sequence_equals_steps(rng):
    N, T, D, H = 3, 7, 5, 6
    p = make_lstm(rng, N, T, D, H)
    h, cache = lstm_forward(**p)
    dh = rng.standard_normal(h.shape)
    dc_final = rng.standard_normal((N, H))
    grads = lstm_backward(dh, cache, dc_final=dc_final)

    prev_h, prev_c, step_caches = p["h0"], p["c0"], []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(
            p["x"][:, t], prev_h, prev_c, p["Wx"], p["Wh"], p["b"]
        )
        step_caches.append(step_cache)
        assert rel_error(prev_h, h[:, t]) < 1e-14
    assert rel_error(prev_c, cache.final_c) < 1e-14

    step_dx = np.zeros_like(grads[0])
    step_dW = [np.zeros_like(g) for g in grads[2:]]
    dprev_h, dprev_c = np.zeros((N, H)), dc_final
    for t in reversed(range(T)):
        step_dx[:, t], dprev_h, dprev_c, *dW = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, step_caches[t]
        )
        step_dW = [total + d for total, d in zip(step_dW, dW)]
    expected = [step_dx, dprev_h, *step_dW, dprev_c]
    for name, a, b in zip(["dx", "dh0", "dWx", "dWh", "db", "dc0"], expected, [*grads, grads.dc0]):
        assert rel_error(a, b) < 1e-12, name


def test_lstm_gate_order_is_i_f_o_g(rng):
    """With all input weights zero, b alone sets the gates: i=1, f=0, o=1, g=tanh(1)."""
    N, D, H = 2, 3, 4
    big = 50.0
    b = np.concatenate([np.full(H, big), np.full(H, -big), np.full(H, big), np.full(H, 1.0)])
    h, cache = lstm_forward(np.zeros((N, 1, D)), np.zeros((N, H)), np.zeros((D, 4 * H)),
                            np.zeros((H, 4 * H)), b, c0=np.full((N, H), 7.0))
    i, f, o, g = split_gates(cache.gates[0])
    np.testing.assert_allclose(cache.final_c, np.tanh(1.0), rtol=1e-12)
    np.testing.assert_allclose(h[:, 0], np.tanh(np.tanh(1.0)), rtol=1e-12)


def test_lstm_empty_batch(rng):
    p = make_lstm(rng, 0, 4, 3, 2)
    h, cache = lstm_forward(**p)
    grads = lstm_backward(h, cache)
    assert [g.shape for g in grads] == [(0, 4, 3), (0, 2), (3, 8), (2, 8), (8,)]
    assert grads.dc0.shape == (0, 2)


def test_lstm_float32_close_to_float64(rng):
    p64 = make_lstm(rng, 4, 20, 8, 16)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    h64, c64 = lstm_forward(**p64)
    h32, c32 = lstm_forward(**p32)
    assert h32.dtype == np.float32 and c32.final_c.dtype == np.float32
    assert rel_error(h32, h64) < 1e-5
    assert rel_error(c32.final_c, c64.final_c) < 1e-5
    dh = np.random.default_rng(0).standard_normal(h64.shape)
    for g32, g64 in zip(lstm_backward(dh.astype(np.float32), c32), lstm_backward(dh, c64)):
        assert g32.dtype == np.float32
        assert rel_error(g32, g64) < 1e-5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk_elements,H", [(1, 5), (40, 5), (1 << 16, 5), (1 << 16, 256)])
def test_fused_loops_equal_the_general_steps(rng, monkeypatch, dtype, chunk_elements, H):
    """The plain cell runs lstm_fused's loops; cell_clip=inf changes no number but takes
    the general step-by-step path. Forward: the same values (halving is exact; H = 256
    takes the transposed recurrent product). Backward: the same chain rule regrouped,
    with every extra input (recurrent mask, final-state and per-step c gradients), over
    chunks of 1, 2 (with a remainder) and all steps."""
    from rnnlab.functional import lstm_fused

    monkeypatch.setattr(lstm_fused, "CHUNK_ELEMENTS", chunk_elements)
    N, T, D = 3, 7, 4
    p = make_lstm(rng, N, T, D, H, dtype)
    mask = (rng.random((N, H)) > 0.3).astype(dtype) / dtype(0.7)
    h_fused, fused = lstm_forward(**p, recurrent_mask=mask)
    h_general, general = lstm_forward(**p, recurrent_mask=mask, cell_clip=np.inf)
    assert fused.opts != general.opts
    forward_tol = 1e-6 if dtype == np.float32 else 1e-14
    assert rel_error(h_fused, h_general) < forward_tol
    assert rel_error(fused.c, general.c) < forward_tol
    dh, dc = rng.standard_normal((N, T, H)).astype(dtype), rng.standard_normal((N, T, H)).astype(dtype)
    finals = dict(dh_final=rng.standard_normal((N, H)), dc_final=rng.standard_normal((N, H)), dc=dc)
    got = lstm_backward(dh, fused, **finals)
    want = lstm_backward(dh, general, **finals)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name, a, b in zip(("dx", "dh0", "dWx", "dWh", "db"), got, want):
        assert rel_error(a, b) < tol, name
    assert rel_error(got.dc0, want.dc0) < tol


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stretch,N,T,H", [(1, 3, 7, 5), (40, 3, 7, 5), (1 << 20, 3, 7, 5),
                                           (3 * 4 * 256, 3, 7, 256), (1, 2, 0, 4), (1, 0, 5, 4)])
def test_inference_equals_the_forward(rng, monkeypatch, dtype, stretch, N, T, H):
    """lstm_inference gives lstm_forward's outputs and final state, a stretch of 1 step,
    2 (with a remainder), 3 (with H = 256) and all steps at a time; without c0 too."""
    from rnnlab.functional import lstm

    monkeypatch.setattr(lstm, "INFERENCE_STRETCH", stretch)
    monkeypatch.setattr(lstm, "PROJECTION_ROWS", 1)
    p = make_lstm(rng, N, T, 4, H, dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for c0 in (p.pop("c0"), None):
        want, cache = lstm_forward(**p, c0=c0)
        got, (h_T, c_T) = lstm_inference(**p, c0=c0)
        assert got.dtype == h_T.dtype == c_T.dtype == dtype and got.shape == want.shape
        assert rel_error(got, want) < tol
        assert rel_error(h_T, cache.final_h) < tol and rel_error(c_T, cache.final_c) < tol
        assert h_T.base is None and c_T.base is None  # the caller's, not a stretch's buffer


@pytest.mark.parametrize("N,G,steps", [(32, 512, 64), (64, 1024, 16), (64, 2048, 16),
                                        (32, 2048, 32), (16, 4096, 64), (1, 4, 1 << 18), (0, 8, 1 << 20)])
def test_an_inference_stretch_holds_enough_gate_values_and_projection_rows(N, G, steps):
    """About 2^20 gate values a stretch, and never fewer than 1,024 rows (N x steps) for
    the stretch's input projection (the benchmark sizes' stretches: 64, 16, 16, 32, 64)."""
    from rnnlab.functional.lstm import stretch_steps

    assert stretch_steps(N, G) == steps


def test_inference_refuses_what_the_forward_refuses(rng):
    p = make_lstm(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match="Wh"):
        lstm_inference(**{**p, "Wh": p["Wh"][:, 1:]})
