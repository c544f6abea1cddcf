"""Clockwork RNN: finite differences, inactive modules, block structure, FLOP saving."""
import numpy as np
import pytest
from conftest import assert_gradients

from rnnlab.functional import (
    clockwork_backward,
    clockwork_forward,
    clockwork_step_backward,
    clockwork_step_forward,
    module_mask,
    rnn_forward,
)
from rnnlab.testing import rel_error


def make_clockwork(rng, N, T, D, H):
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=rng.standard_normal((D, H)) / np.sqrt(D), Wh=rng.standard_normal((H, H)) / np.sqrt(H),
                b=rng.standard_normal(H) * 0.2)


@pytest.mark.parametrize("periods,t0", [((1, 2, 4), 0), ((1, 3, 5), 2), ((2, 3), 1), ((1,), 0)])
@pytest.mark.parametrize("N,T,D", [(3, 9, 4), (1, 1, 2)])
def test_clockwork_matches_finite_differences(rng, periods, t0, N, T, D):
    H = 2 * len(periods)
    p = make_clockwork(rng, N, T, D, H)
    h, cache = clockwork_forward(**p, periods=periods, t0=t0)
    dh, dh_final = rng.standard_normal(h.shape), rng.standard_normal((N, H))
    grads = clockwork_backward(dh, cache, dh_final=dh_final)

    def f():
        h, cache = clockwork_forward(**p, periods=periods, t0=t0)
        return h, cache.final_h

    assert_gradients(f, p, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)), (dh, dh_final))


def test_inactive_modules_keep_their_state(rng):
    N, T, D, H, periods = 2, 12, 3, 8, (1, 2, 4, 8)
    p = make_clockwork(rng, N, T, D, H)
    h, _ = clockwork_forward(**p, periods=periods)
    states = np.concatenate([p["h0"][:, None], h], axis=1)  # h_0 .. h_T
    for t in range(T):
        for module, period in enumerate(periods):
            units = slice(2 * module, 2 * module + 2)
            changed = not np.array_equal(states[:, t + 1, units], states[:, t, units])
            assert changed == (t % period == 0), (t, module)


def test_module_reads_only_itself_and_slower_modules(rng):
    """Entries of Wh outside the block mask change nothing and get zero gradient."""
    N, T, D, H, periods = 2, 8, 3, 6, (1, 2, 4)
    p = make_clockwork(rng, N, T, D, H)
    mask = module_mask(periods, H)
    assert mask[0:2, 2:4].sum() == 0 and mask[2:4, 0:2].all()  # module 0 does not feed module 1
    h, cache = clockwork_forward(**p, periods=periods)
    noisy = dict(p, Wh=p["Wh"] + (1 - mask) * 5.0)
    h_noisy, _ = clockwork_forward(**noisy, periods=periods)
    np.testing.assert_array_equal(h, h_noisy)
    dWh = clockwork_backward(rng.standard_normal(h.shape), cache)[3]
    assert not (dWh * (1 - mask)).any()


def test_single_module_of_period_one_is_a_vanilla_rnn(rng):
    p = make_clockwork(rng, 3, 7, 4, 5)
    h, _ = clockwork_forward(**p, periods=(1,))
    assert rel_error(h, rnn_forward(**p)[0]) < 1e-14


def test_step_with_clock_equals_sequence(rng):
    N, T, D, H, periods = 2, 7, 3, 6, (1, 2, 4)
    p = make_clockwork(rng, N, T, D, H)
    h, cache = clockwork_forward(**p, periods=periods, t0=3)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = clockwork_backward(dh, cache)
    prev_h, caches = p["h0"], []
    for t in range(T):
        prev_h, c = clockwork_step_forward(p["x"][:, t], prev_h, p["Wx"], p["Wh"], p["b"], periods, t=3 + t)
        caches.append(c)
        assert rel_error(prev_h, h[:, t]) < 1e-14
    total, dprev = [0, 0, 0], np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev, *dW = clockwork_step_backward(dh[:, t] + dprev, caches[t])
        assert rel_error(dx_t, dx[:, t]) < 1e-12
        total = [a + b for a, b in zip(total, dW)]
    for a, b in zip([dprev, *total], [dh0, dWx, dWh, db]):
        assert rel_error(a, b) < 1e-12


def test_inactive_modules_cost_no_flops(rng):
    """Multiply-accumulates done with periods 1, 2, 4, 8 over T = 64 steps: each module
    of period p runs on T/p steps, so the work is (1 + 1/2 + 1/4 + 1/8)/4 = 47% of a
    dense RNN of the same size."""
    N, T, D, H, periods = 4, 64, 8, 32, (1, 2, 4, 8)
    p = make_clockwork(rng, N, T, D, H)
    _, cache = clockwork_forward(**p, periods=periods)
    k = H // len(periods)
    active_units = sum(k * T // period for period in periods)
    assert cache.macs == N * (D + H) * active_units
    dense = N * T * (D + H) * H
    assert cache.macs / dense == pytest.approx(0.46875)


@pytest.mark.parametrize("periods, message", [
    ((1, 1, 2), r"periods: expected strictly increasing positive integers, got \(1, 1, 2\)"),
    ((0, 1, 2), r"periods: expected strictly increasing"),
    ((1, 2, 4, 8), r"periods: H = 6 must split into 4 equal modules"),
])
def test_clockwork_rejects_bad_periods(rng, periods, message):
    p = make_clockwork(rng, 2, 3, 2, 6)
    with pytest.raises(ValueError, match=message):
        clockwork_forward(**p, periods=periods)
