"""Vanilla (Elman) RNN.

    a_t = x_t Wx + h_{t-1} Wh + b
    h_t = act(a_t),  act = tanh (default) or relu

Symbols: x_t (N, D), h_t (N, H), Wx (D, H), Wh (H, H), b (H,).

Tests: tests/test_rnn.py, tests/test_recurrent_mask.py, tests/test_torch_crosscheck.py
(nn.RNN), tests/test_onnx_crosscheck.py, tests/test_properties.py.
"""
from dataclasses import dataclass

from .activations import ACTIVATIONS, activation_grad_from_output
from .backend import array_module
from .checks import check_cell
from .recurrence import (
    Gradients,
    StateSequence,
    batch_first,
    check_recurrent_mask,
    dropped,
    input_gradients,
    input_projection,
    recurrent_product,
    recurrent_weight_gradient,
    upstream_gradients,
)


def check_nonlinearity(nonlinearity):
    if nonlinearity not in ACTIVATIONS:
        raise ValueError(
            f"nonlinearity: expected one of {sorted(ACTIVATIONS)}, got {nonlinearity!r}"
        )


@dataclass(frozen=True)
class RNNStepCache:
    x: object  # (N, D)
    prev_h: object  # (N, H)
    Wx: object  # (D, H)
    Wh: object  # (H, H)
    next_h: object  # (N, H)
    nonlinearity: str


@dataclass(frozen=True)
class RNNCache(StateSequence):
    x_tm: object  # (T*N, D) inputs, time-major
    Wx: object  # (D, H)
    Wh: object  # (H, H)
    h: object  # (T+1, N, H) h_0 .. h_T, time-major
    nonlinearity: str
    recurrent_mask: object = None  # (N, H) or None


def rnn_step_forward(x, prev_h, Wx, Wh, b, nonlinearity="tanh"):
    """One step: x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
    check_nonlinearity(nonlinearity)
    check_cell(x, prev_h, Wx, Wh, b, "ND", "prev_h", "H")
    a = x @ Wx
    a += prev_h @ Wh
    a += b
    next_h = ACTIVATIONS[nonlinearity](a, out=a)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h, nonlinearity)


def rnn_step_backward(dnext_h, cache):
    """-> (dx, dprev_h, dWx, dWh, db) for one step.

    da      = dnext_h * act'(a)        (from next_h: 1 - h^2 for tanh, [h > 0] for relu)
    dx      = da Wx^T
    dprev_h = da Wh^T
    dWx     = x^T da
    dWh     = prev_h^T da
    db      = sum_n da
    """
    da = activation_grad_from_output(cache.nonlinearity, cache.next_h, dnext_h)
    return (
        da @ cache.Wx.T,
        da @ cache.Wh.T,
        cache.x.T @ da,
        cache.prev_h.T @ da,
        da.sum(axis=0),
    )


def rnn_forward(x, h0, Wx, Wh, b, nonlinearity="tanh", *, recurrent_mask=None):
    """Run the RNN over a whole sequence.

    x (N, T, D), h0 (N, H) -> h (N, T, H) (every step's hidden state), cache.
    The final state is ``h[:, -1]`` (also ``cache.final_h``). ``recurrent_mask`` (N, H):
    variational recurrent dropout, a_t = x_t Wx + (h_{t-1} * m) Wh + b.
    """
    check_nonlinearity(nonlinearity)
    check_cell(x, h0, Wx, Wh, b, "NTD", "h0", "H")
    check_recurrent_mask(recurrent_mask, h0)
    xp = array_module(x, h0, Wx, Wh, b)
    activation = ACTIVATIONS[nonlinearity]
    x_tm, a = input_projection(x, Wx, b)  # (T*N, D), (T, N, H)
    T, N, H = a.shape
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    for t in range(T):
        _step(a[t], dropped(h[t], recurrent_mask), Wh, activation, out=h[t + 1])
    return batch_first(h[1:]), RNNCache(x_tm, Wx, Wh, h, nonlinearity, recurrent_mask)


def _step(a, h_prev, Wh, activation, out):
    """a holds x_t Wx + b: h_t = act(a + h_{t-1} Wh), written to ``out``."""
    a += h_prev @ Wh
    return activation(a, out=out)


def rnn_stepper(Wx, Wh, b, N, nonlinearity="tanh"):
    """For inference one step at a time (sampling): -> step(x (N, D), h (N, H)) -> next_h,
    without checks or anything kept for a backward pass."""
    check_nonlinearity(nonlinearity)
    activation = ACTIVATIONS[nonlinearity]

    def step(x, h_prev):
        a = x @ Wx
        a += b
        return _step(a, h_prev, Wh, activation, out=a)

    return step


def rnn_backward(dh, cache, dh_final=None):
    """Backpropagation through time.

    dh (N, T, H): upstream gradient on every step's h; ``dh_final`` (N, H): optional
    extra gradient on h_T (e.g. from a decoder that started from it).
    -> (dx, dh0, dWx, dWh, db).

    dh_t   = dh[t] + (da_{t+1} Wh^T) * m      (total gradient reaching h_t)
    da_t   = dh_t * act'(a_t)
    dWh    = sum_t (h_{t-1} * m)^T da_t;  db = sum_{t,n} da_t;  dWx, dx: see ``input_gradients``
    dh0    = (da_1 Wh^T) * m                  (m = 1 without recurrent dropout)
    """
    xp = array_module(dh)
    h = cache.h
    T, N, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    dh_tm, dh_next = upstream_gradients(dh, dh_final, T, N, H)  # (T, N, H), (N, H)
    da = xp.empty_like(dh_tm)  # (T, N, H)
    times_WhT = recurrent_product(cache.Wh.T, N)  # da_t Wh^T
    for t in reversed(range(T)):
        dh_t = dh_tm[t] + dh_next  # gradient from the output at t and from step t+1
        da[t] = activation_grad_from_output(cache.nonlinearity, h[t + 1], dh_t)
        dh_next = dropped(times_WhT(da[t]), cache.recurrent_mask)  # into h_{t-1}
    dh_next = xp.ascontiguousarray(dh_next)
    dx, dWx = input_gradients(da, cache.x_tm, cache.Wx)
    dWh = recurrent_weight_gradient(dropped(h[:-1], cache.recurrent_mask), da)
    return Gradients((dx, dh_next, dWx, dWh, da.sum(axis=(0, 1))))
