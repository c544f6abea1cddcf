"""Vanilla RNN: finite differences, step-vs-sequence, edge cases."""
import numpy as np
import pytest
from conftest import SIZES, assert_gradients, assert_single_state_gradients

from rnnlab.functional import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from rnnlab.testing import rel_error


def make_rnn(rng, N, T, D, H, dtype=np.float64):
    return dict(
        x=rng.standard_normal((N, T, D)).astype(dtype),
        h0=rng.standard_normal((N, H)).astype(dtype),
        Wx=(rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype),
        Wh=(rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype),
        b=rng.standard_normal(H).astype(dtype) * 0.1,
    )


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("N,T,D,H", SIZES)
@pytest.mark.parametrize("final_gradient", [False, True])
def test_rnn_backward_matches_finite_differences(rng, nonlinearity, N, T, D, H, final_gradient):
    p = make_rnn(rng, N, T, D, H)
    h, cache = rnn_forward(**p, nonlinearity=nonlinearity)
    dh = rng.standard_normal(h.shape)
    dh_final = rng.standard_normal((N, H)) if final_gradient else np.zeros((N, H))
    grads = rnn_backward(dh, cache, dh_final=dh_final if final_gradient else None)

    def f():
        h, cache = rnn_forward(**p, nonlinearity=nonlinearity)
        return h, cache.final_h

    analytic = dict(zip(["x", "h0", "Wx", "Wh", "b"], grads))
    assert_gradients(f, p, analytic, (dh, dh_final))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_step_backward_matches_finite_differences(rng, nonlinearity):
    p = make_rnn(rng, 3, 1, 5, 6)
    p["x"] = p["x"][:, 0].copy()
    next_h, cache = rnn_step_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"], nonlinearity)
    dnext_h = rng.standard_normal(next_h.shape)
    grads = rnn_step_backward(dnext_h, cache)

    def f():
        return rnn_step_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"], nonlinearity)[0]

    assert_gradients(f, p, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)), dnext_h)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_sequence_equals_steps(rng, nonlinearity):
    N, T, D, H = 3, 7, 5, 6
    p = make_rnn(rng, N, T, D, H)
    h, cache = rnn_forward(**p, nonlinearity=nonlinearity)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)

    prev_h, step_caches = p["h0"], []
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(
            p["x"][:, t], prev_h, p["Wx"], p["Wh"], p["b"], nonlinearity
        )
        step_caches.append(step_cache)
        assert rel_error(prev_h, h[:, t]) < 1e-14
    step_dx = np.zeros_like(dx)
    step_dW = [np.zeros_like(dWx), np.zeros_like(dWh), np.zeros_like(db)]
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        step_dx[:, t], dprev_h, *dW = rnn_step_backward(dh[:, t] + dprev_h, step_caches[t])
        step_dW = [total + d for total, d in zip(step_dW, dW)]
    for name, a, b in zip(["dx", "dh0", "dWx", "dWh", "db"],
                          [step_dx, dprev_h, *step_dW], [dx, dh0, dWx, dWh, db]):
        assert rel_error(a, b) < 1e-12, name


def test_rnn_empty_batch_and_empty_sequence(rng):
    p = make_rnn(rng, 0, 4, 3, 2)
    h, cache = rnn_forward(**p)
    assert h.shape == (0, 4, 2)
    assert [g.shape for g in rnn_backward(h, cache)] == [(0, 4, 3), (0, 2), (3, 2), (2, 2), (2,)]
    p = make_rnn(rng, 2, 0, 3, 2)
    h, cache = rnn_forward(**p)
    assert h.shape == (2, 0, 2)
    np.testing.assert_array_equal(cache.final_h, p["h0"])
    dh_final = rng.standard_normal((2, 2))
    dx, dh0, dWx, dWh, db = rnn_backward(h, cache, dh_final=dh_final)
    np.testing.assert_array_equal(dh0, dh_final)
    assert not dWx.any() and not dWh.any() and not db.any()


def test_rnn_float32_close_to_float64(rng):
    p64 = make_rnn(rng, 4, 20, 8, 16)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    h64, _ = rnn_forward(**p64)
    h32, _ = rnn_forward(**p32)
    assert h32.dtype == np.float32
    assert rel_error(h32, h64) < 1e-5


RNN_OPTIONS = {
    "clip": dict(gate_clip=0.6),
    "leakyrelu": dict(nonlinearity=("leakyrelu", 0.3)),
    "elu_clip": dict(nonlinearity=("elu", 0.8), gate_clip=1.2),
    "scaledtanh": dict(nonlinearity=("scaledtanh", 1.5, 0.7)),
    "softsign": dict(nonlinearity="softsign"),
    "softplus": dict(nonlinearity="softplus"),
    "hardsigmoid": dict(nonlinearity=("hardsigmoid", 0.3, 0.4)),
    "affine": dict(nonlinearity=("affine", 0.6, 0.1)),
    "thresholdedrelu": dict(nonlinearity=("thresholdedrelu", 0.1)),
    "sigmoid": dict(nonlinearity="sigmoid"),
}


@pytest.mark.parametrize("options", RNN_OPTIONS)
def test_rnn_activations_and_clip_match_finite_differences(rng, options):
    """Every ONNX activation and the clip: the hand-derived backward of each."""
    N, T, D, H = 3, 5, 4, 6
    p = make_rnn(rng, N, T, D, H)
    p["Wx"] *= 2
    kw = RNN_OPTIONS[options]
    cache = assert_single_state_gradients(rng, rnn_forward, rnn_backward, p, **kw)
    if "gate_clip" in kw:
        assert not cache.inside.all()
