"""Minimal gated unit (Zhou, Wu, Zhang & Zhou 2016, "Minimal Gated Unit for Recurrent
Neural Networks", eqs. 5-7): one forget gate where the GRU has two, gate columns f, n.

    f   = sigmoid(x Wx_f + h_{t-1} Wh_f + b_f)
    n   = tanh(x Wx_n + (f * h_{t-1}) Wh_n + b_n)
    h_t = (1 - f) * h_{t-1} + f * n

Symbols: x (N, D), h (N, H), Wx (D, 2H), Wh (H, 2H), b (2H,).
Tests: tests/test_mgu.py (finite differences, step = sequence, the equations written
out), and every registry-driven test of tests/ (layers, masks, models, steppers,
checkpoints, the CLI, inspect, interop refusals).
"""
from dataclasses import dataclass

from .activations import sigmoid
from .backend import array_module
from .checks import check_cell
from .recurrence import (
    Gradients,
    StateSequence,
    batch_first,
    cached_stepper,
    check_recurrent_mask,
    dropped,
    input_gradients,
    input_projection,
    recurrent_product,
    recurrent_weight_gradient,
    step_backward_from_sequence,
    upstream_gradients,
)

GATE_ORDER = ("f", "n")


def split_mgu_gates(a):
    """(..., 2H) -> the f, n blocks (views)."""
    H = a.shape[-1] // 2
    return a[..., :H], a[..., H:]


@dataclass(frozen=True)
class MGUCache(StateSequence):
    x_tm: object  # (T*N, D) inputs, time-major
    Wx: object  # (D, 2H)
    Wh: object  # (H, 2H)
    gates: object  # (T, N, 2H) gate values f, n
    hn: object  # (T, N, H) f * h_{t-1} (* m): what Wh_n reads
    h: object  # (T+1, N, H) h_0 .. h_T
    recurrent_mask: object = None  # (N, H) variational recurrent dropout mask


def _step_forward(cache, t):
    """h_t from h_{t-1} = h[t] and gates[t] holding x_t Wx + b; hm = h_{t-1} * m is
    what the recurrent products read."""
    xp = array_module(cache.gates)
    h_prev = cache.h[t]
    hm = dropped(h_prev, cache.recurrent_mask)
    f, n = split_mgu_gates(cache.gates[t])
    Wh_f, Wh_n = split_mgu_gates(cache.Wh)
    f += hm @ Wh_f
    sigmoid(f, out=f)
    xp.multiply(f, hm, out=cache.hn[t])
    n += cache.hn[t] @ Wh_n
    xp.tanh(n, out=n)
    h = cache.h[t + 1]
    xp.subtract(n, h_prev, out=h)  # h_t = h_{t-1} + f (n - h_{t-1})
    h *= f
    h += h_prev


def _step_backward(cache, t, dh, dax, times_WhT_n):
    """Step t of the chain rule; writes dax[t] = [da_f, da_n] (d of the pre-activations)
    and returns the part of dh_prev outside the Wh_f GEMM.

    h = h_prev + f (n - h_prev)  =>  dn = dh f,  df = dh (n - h_prev),  dh_prev = dh (1 - f)
    n = tanh(a_n)               =>  da_n = dn (1 - n^2)
    a_n = ax_n + hn Wh_n, hn = f * hm
                                =>  d(hn) = da_n Wh_n^T,  df += d(hn) * hm,
                                    dh_prev += (d(hn) * f) * m
    f = sigmoid(a_f)            =>  da_f = df f (1 - f)
    """
    f, n = split_mgu_gates(cache.gates[t])
    h_prev = cache.h[t]
    hm = dropped(h_prev, cache.recurrent_mask)
    da_f, da_n = split_mgu_gates(dax[t])
    da_n[...] = dh * f * (1 - n * n)
    dhn = times_WhT_n(da_n)
    df = dh * (n - h_prev) + dhn * hm
    da_f[...] = df * f * (1 - f)
    return dh * (1 - f) + dropped(dhn * f, cache.recurrent_mask)


def mgu_forward(x, h0, Wx, Wh, b, *, recurrent_mask=None):
    """Run the MGU over a sequence: x (N, T, D), h0 (N, H) -> h (N, T, H), cache.
    The final state is ``h[:, -1]`` (also ``cache.final_h``). ``recurrent_mask`` (N, H):
    variational recurrent dropout; the recurrent products read h_{t-1} * m, the
    (1 - f) * h_{t-1} term keeps h_{t-1} (as the GRU)."""
    check_cell(x, h0, Wx, Wh, b, "NTD", "h0", "2H")
    check_recurrent_mask(recurrent_mask, h0)
    return _forward(x, h0, Wx, Wh, b, recurrent_mask)


def _forward(x, h0, Wx, Wh, b, recurrent_mask=None):
    xp = array_module(x, h0, Wx, Wh, b)
    x_tm, gates = input_projection(x, Wx, b)  # (T*N, D), (T, N, 2H)
    T, N, H = gates.shape[0], gates.shape[1], h0.shape[1]
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    cache = MGUCache(x_tm, Wx, Wh, gates, xp.empty((T, N, H), x.dtype), h, recurrent_mask)
    for t in range(T):
        _step_forward(cache, t)
    return batch_first(h[1:]), cache


def mgu_backward(dh, cache, dh_final=None):
    """Backpropagation through time: dh (N, T, H), optional dh_final (N, H)
    -> (dx, dh0, dWx, dWh, db).

    Per step (``_step_backward``), then dh_prev += (da_f Wh_f^T) * m. After the loop
    (hm = h * m): dWx, dx from dax;  db = sum dax;
    dWh_f = sum_t hm_{t-1}^T da_f,  dWh_n = sum_t hn_t^T da_n
    """
    xp = array_module(dh)
    T, N, H = cache.hn.shape
    dh_tm, dh_next = upstream_gradients(dh, dh_final, T, N, H)  # (T, N, H), (N, H)
    dax = xp.empty_like(cache.gates)  # (T, N, 2H)
    Wh_f, Wh_n = split_mgu_gates(cache.Wh)
    times_WhT_f, times_WhT_n = recurrent_product(Wh_f.T, N), recurrent_product(Wh_n.T, N)
    for t in reversed(range(T)):
        dh_direct = _step_backward(cache, t, dh_tm[t] + dh_next, dax, times_WhT_n)
        dh_next = dh_direct + dropped(times_WhT_f(split_mgu_gates(dax[t])[0]), cache.recurrent_mask)
    dx, dWx = input_gradients(dax, cache.x_tm, cache.Wx)
    da_f, da_n = split_mgu_gates(dax)
    dWh = xp.concatenate([
        recurrent_weight_gradient(dropped(cache.h[:-1], cache.recurrent_mask), da_f),
        recurrent_weight_gradient(cache.hn, da_n)], axis=1)
    return Gradients((dx, xp.ascontiguousarray(dh_next), dWx, dWh, dax.sum(axis=(0, 1))))


def mgu_stepper(Wx, Wh, b, N):
    """For inference one step at a time (sampling): -> step(x (N, D), h (N, H)) -> next_h,
    the step of ``mgu_forward`` on one cache allocated here once, without checks."""
    xp = array_module(Wx)
    H = Wh.shape[0]
    cache = MGUCache(None, Wx, Wh, xp.empty((1, N, 2 * H), Wx.dtype),
                     xp.empty((1, N, H), Wx.dtype), xp.empty((2, N, H), Wx.dtype))
    return cached_stepper(cache, _step_forward, Wx, b)


def mgu_step_forward(x, prev_h, Wx, Wh, b):
    """One step: x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
    check_cell(x, prev_h, Wx, Wh, b, "ND", "prev_h", "2H")
    h, cache = _forward(x[:, None], prev_h, Wx, Wh, b)
    return h[:, 0], cache


def mgu_step_backward(dnext_h, cache):
    """-> (dx, dprev_h, dWx, dWh, db) for one step."""
    return step_backward_from_sequence(mgu_backward, dnext_h, cache)
