"""The minimal gated unit: finite differences of every input, step = sequence, and the
equations of Zhou et al. 2016 written out here."""
import numpy as np
import pytest
from conftest import SIZES, assert_gradients

from rnnlab.functional import mgu_backward, mgu_forward, mgu_step_backward, mgu_step_forward


def _inputs(rng, N, T, D, H):
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=rng.standard_normal((D, 2 * H)) / 2, Wh=rng.standard_normal((H, 2 * H)) / 2,
                b=rng.standard_normal(2 * H) / 3)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_the_equations_of_the_paper(rng):
    p = _inputs(rng, 3, 4, 5, 6)
    h, _ = mgu_forward(**p)
    H, h_prev = 6, p["h0"]
    for t in range(4):
        x = p["x"][:, t]
        f = _sigmoid(x @ p["Wx"][:, :H] + h_prev @ p["Wh"][:, :H] + p["b"][:H])
        n = np.tanh(x @ p["Wx"][:, H:] + (f * h_prev) @ p["Wh"][:, H:] + p["b"][H:])
        h_prev = (1 - f) * h_prev + f * n
        np.testing.assert_allclose(h[:, t], h_prev, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N,T,D,H", SIZES)
@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_gradients_match_finite_differences(rng, N, T, D, H, final, masked):
    p = _inputs(rng, N, T, D, H)
    mask = (rng.random((N, H)) > 0.3) / 0.7 if masked else None
    dh, dh_final = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)) if final else None

    def f():
        h, cache = mgu_forward(**p, recurrent_mask=mask)
        return (h, cache.final_h) if final else h

    h, cache = mgu_forward(**p, recurrent_mask=mask)
    grads = mgu_backward(dh, cache, dh_final)
    assert_gradients(f, p, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)),
                     (dh, dh_final) if final else dh)


def test_steps_equal_the_sequence(rng):
    p = _inputs(rng, 3, 5, 4, 6)
    h, cache = mgu_forward(**p)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = mgu_backward(dh, cache)
    h_prev, caches = p["h0"], []
    for t in range(5):
        h_prev, step_cache = mgu_step_forward(p["x"][:, t], h_prev, p["Wx"], p["Wh"], p["b"])
        np.testing.assert_allclose(h_prev, h[:, t], rtol=1e-13)
        caches.append(step_cache)
    dnext, grads = np.zeros((3, 6)), [np.zeros_like(p[k]) for k in ("Wx", "Wh", "b")]
    for t in reversed(range(5)):
        sdx, dnext, *sgrads = mgu_step_backward(dh[:, t] + dnext, caches[t])
        np.testing.assert_allclose(sdx, dx[:, t], rtol=1e-10, atol=1e-12)
        grads = [g + s for g, s in zip(grads, sgrads)]
    np.testing.assert_allclose(dnext, dh0, rtol=1e-10, atol=1e-12)
    for g, expected in zip(grads, (dWx, dWh, db)):
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


def test_float32_forward_is_close_to_float64(rng):
    p = _inputs(rng, 3, 7, 5, 6)
    h64, _ = mgu_forward(**p)
    h32, _ = mgu_forward(**{k: v.astype(np.float32) for k, v in p.items()})
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, atol=1e-5)
