"""Activations, affine maps, embedding and the temporal softmax loss: finite
differences and saturation (their PyTorch cross-checks: tests/test_torch_crosscheck.py)."""
import warnings

import numpy as np
import pytest
from conftest import assert_gradients

from rnnlab.functional import (
    affine_backward,
    affine_forward,
    embedding_backward,
    embedding_forward,
    log_softmax,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
    sigmoid,
    softmax,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from rnnlab.testing import rel_error


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_are_stable_at_extremes(dtype):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, p, lp = sigmoid(x), softmax(x), log_softmax(x)
    for a in (s, p, lp):
        assert a.dtype == dtype and np.isfinite(a).all()
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-6)


def test_sigmoid_in_place():
    x = np.array([-3.0, 0.0, 3.0])
    expected = 1 / (1 + np.exp(-x))
    out = sigmoid(x, out=x)
    assert out is x
    assert rel_error(x, expected) < 1e-15


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cells_saturate_without_nan_or_warning(scale):
    """Pre-activations of +-1e4: finite outputs and gradients, no warnings."""
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 5, 3, 4
    x = np.ones((N, T, D))
    h0, c0 = np.zeros((N, H)), np.zeros((N, H))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, cache = lstm_forward(x, h0, np.full((D, 4 * H), scale / D), np.zeros((H, 4 * H)),
                                np.zeros(4 * H), c0=c0)
        lstm_grads = lstm_backward(rng.standard_normal(h.shape), cache)
        hr, rcache = rnn_forward(x, h0, np.full((D, H), scale / D), np.zeros((H, H)), np.zeros(H))
        rnn_grads = rnn_backward(rng.standard_normal(hr.shape), rcache)
        scores = np.full((N, T, 7), scale)
        scores[..., 0] = -scale
        loss, dscores = temporal_softmax_loss(scores, np.zeros((N, T), dtype=int))
    for a in [h, cache.final_c, *lstm_grads, lstm_grads.dc0, hr, *rnn_grads, dscores]:
        assert np.isfinite(a).all()
    assert np.isfinite(loss)


def test_affine_matches_finite_differences(rng):
    p = dict(x=rng.standard_normal((4, 5)), w=rng.standard_normal((5, 3)), b=rng.standard_normal(3))
    out, cache = affine_forward(**p)
    dout = rng.standard_normal(out.shape)
    analytic = dict(zip(["x", "w", "b"], affine_backward(dout, cache)))
    assert_gradients(lambda: affine_forward(**p)[0], p, analytic, dout)


def test_temporal_affine_matches_finite_differences(rng):
    p = dict(x=rng.standard_normal((3, 7, 5)), w=rng.standard_normal((5, 4)), b=rng.standard_normal(4))
    out, cache = temporal_affine_forward(**p)
    assert out.shape == (3, 7, 4)
    np.testing.assert_allclose(out[1, 2], p["x"][1, 2] @ p["w"] + p["b"])
    dout = rng.standard_normal(out.shape)
    analytic = dict(zip(["x", "w", "b"], temporal_affine_backward(dout, cache)))
    assert_gradients(lambda: temporal_affine_forward(**p)[0], p, analytic, dout)


def test_embedding_forward_and_scatter_add_backward(rng):
    W = rng.standard_normal((6, 4))
    ids = np.array([[0, 3, 3], [5, 0, 3]])
    out, cache = embedding_forward(ids, W)
    np.testing.assert_array_equal(out[0, 1], W[3])
    dout = rng.standard_normal(out.shape)
    dW = embedding_backward(dout, cache)
    np.testing.assert_allclose(dW[3], dout[0, 1] + dout[0, 2] + dout[1, 2])
    assert not dW[[1, 2, 4]].any()
    assert_gradients(lambda: embedding_forward(ids, W)[0], dict(W=W), dict(W=dW), dout)


def test_temporal_softmax_loss_matches_finite_differences(rng):
    N, T, V = 3, 7, 5
    x, y = rng.standard_normal((N, T, V)), rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3
    loss, dx = temporal_softmax_loss(x, y, mask)
    assert_gradients(lambda: np.array(temporal_softmax_loss(x, y, mask)[0]), dict(x=x), dict(x=dx), 1.0)


def test_temporal_softmax_loss_ignores_masked_steps(rng):
    x, y = rng.standard_normal((2, 4, 3)), rng.integers(0, 3, (2, 4))
    mask = np.ones((2, 4), dtype=bool)
    mask[1, 2:] = False
    loss, dx = temporal_softmax_loss(x, y, mask)
    x2 = x.copy()
    x2[1, 2:] = 1e3  # whatever the masked steps hold
    assert temporal_softmax_loss(x2, y, mask)[0] == pytest.approx(loss, abs=1e-12)
    assert not dx[1, 2:].any()
    np.testing.assert_allclose(temporal_softmax_loss(x, y)[0],
                               temporal_softmax_loss(x, y, np.ones((2, 4)))[0])
