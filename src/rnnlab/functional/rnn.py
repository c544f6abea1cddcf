"""Vanilla (Elman) RNN.

    a_t = x_t Wx + h_{t-1} Wh + b
    h_t = act(a_t),  act = tanh (default), relu or any of ``gate_activations`` (ONNX RNN
                     ``activations``); ``gate_clip=k``: a_t clipped to [-k, k] first (ONNX
                     ``clip``)

Symbols: x_t (N, D), h_t (N, H), Wx (D, H), Wh (H, H), b (H,).

Tests: tests/test_rnn.py, tests/test_recurrent_mask.py, tests/test_torch_crosscheck.py
(nn.RNN), tests/test_onnx_crosscheck.py, tests/test_properties.py.
"""
from dataclasses import dataclass

from .backend import array_module
from .checks import check_bound, check_cell
from .gate_activations import gate_activation
from .recurrence import (
    Gradients,
    StateSequence,
    batch_first,
    check_recurrent_mask,
    clip_recording,
    dropped,
    input_gradients,
    input_projection,
    recurrent_product,
    recurrent_weight_gradient,
    upstream_gradients,
)


def check_nonlinearity(nonlinearity, gate_clip=None):
    """-> the nonlinearity as an Activation; ValueError naming a bad one or a bad clip."""
    check_bound("gate_clip", gate_clip)
    try:
        return gate_activation(nonlinearity)
    except ValueError as error:
        raise ValueError(f"nonlinearity: {str(error).split(': ', 1)[1]}") from None


@dataclass(frozen=True)
class RNNStepCache:
    x: object  # (N, D)
    prev_h: object  # (N, H)
    Wx: object  # (D, H)
    Wh: object  # (H, H)
    next_h: object  # (N, H)
    nonlinearity: object  # an Activation
    pre: object = None  # (N, H) the pre-activation, when the derivative reads it
    inside: object = None  # (N, H) bool, inside the clip


@dataclass(frozen=True)
class RNNCache(StateSequence):
    x_tm: object  # (T*N, D) inputs, time-major
    Wx: object  # (D, H)
    Wh: object  # (H, H)
    h: object  # (T+1, N, H) h_0 .. h_T, time-major
    nonlinearity: object  # an Activation
    recurrent_mask: object = None  # (N, H) or None
    pre: object = None  # (T, N, H) pre-activations (after the clip), when act' reads them
    inside: object = None  # (T, N, H) bool, inside the clip


def rnn_step_forward(x, prev_h, Wx, Wh, b, nonlinearity="tanh", gate_clip=None):
    """One step: x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
    activation = check_nonlinearity(nonlinearity, gate_clip)
    check_cell(x, prev_h, Wx, Wh, b, "ND", "prev_h", "H")
    a = x @ Wx
    a += b
    pre, inside = _buffers(activation, gate_clip, a.shape, array_module(a), a.dtype)
    next_h = _step(a, prev_h, Wh, activation, gate_clip, a, pre, inside)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h, activation, pre, inside)


def rnn_step_backward(dnext_h, cache):
    """-> (dx, dprev_h, dWx, dWh, db) for one step.

    da      = dnext_h * act'(a) [* inside]   (tanh: 1 - h^2, relu: [h > 0], from next_h)
    dx      = da Wx^T
    dprev_h = da Wh^T
    dWx     = x^T da
    dWh     = prev_h^T da
    db      = sum_n da
    """
    da = _pre_activation_grad(cache.nonlinearity, cache.pre, cache.inside, cache.next_h, dnext_h)
    return (
        da @ cache.Wx.T,
        da @ cache.Wh.T,
        cache.x.T @ da,
        cache.prev_h.T @ da,
        da.sum(axis=0),
    )


def rnn_forward(x, h0, Wx, Wh, b, nonlinearity="tanh", *, recurrent_mask=None, gate_clip=None):
    """Run the RNN over a whole sequence.

    x (N, T, D), h0 (N, H) -> h (N, T, H) (every step's hidden state), cache.
    The final state is ``h[:, -1]`` (also ``cache.final_h``). ``recurrent_mask`` (N, H):
    variational recurrent dropout, a_t = x_t Wx + (h_{t-1} * m) Wh + b.
    """
    activation = check_nonlinearity(nonlinearity, gate_clip)
    check_cell(x, h0, Wx, Wh, b, "NTD", "h0", "H")
    check_recurrent_mask(recurrent_mask, h0)
    xp = array_module(x, h0, Wx, Wh, b)
    x_tm, a = input_projection(x, Wx, b)  # (T*N, D), (T, N, H)
    T, N, H = a.shape
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    pre, inside = _buffers(activation, gate_clip, a.shape, xp, x.dtype)
    for t in range(T):
        _step(a[t], dropped(h[t], recurrent_mask), Wh, activation, gate_clip, h[t + 1],
              None if pre is None else pre[t], None if inside is None else inside[t])
    return batch_first(h[1:]), RNNCache(x_tm, Wx, Wh, h, activation, recurrent_mask, pre, inside)


def _buffers(activation, gate_clip, shape, xp, dtype):
    """(pre, inside): what the backward pass reads beside h, or None."""
    return (xp.empty(shape, dtype) if activation.needs_input else None,
            None if gate_clip is None else xp.empty(shape, bool))


def _step(a, h_prev, Wh, activation, gate_clip, out, pre=None, inside=None):
    """a holds x_t Wx + b: h_t = act(clip(a + h_{t-1} Wh)), written to ``out``; the
    pre-activation and the clip's inside kept in ``pre`` and ``inside`` when given."""
    a += h_prev @ Wh
    if gate_clip is not None:
        clip_recording(a, gate_clip, inside)
    if pre is not None:
        pre[...] = a
    return activation(a, out=out)


def _pre_activation_grad(activation, pre, inside, h, dh):
    """d(loss)/d(a) from the upstream dh: dh * act'(a), zero outside the clip."""
    da = dh * activation.derivative(pre, h)
    return da if inside is None else da * inside


def rnn_stepper(Wx, Wh, b, N, nonlinearity="tanh", gate_clip=None):
    """For inference one step at a time (sampling): -> step(x (N, D), h (N, H)) -> next_h,
    without checks or anything kept for a backward pass."""
    activation = check_nonlinearity(nonlinearity, gate_clip)

    def step(x, h_prev):
        a = x @ Wx
        a += b
        return _step(a, h_prev, Wh, activation, gate_clip, out=a)

    return step


def rnn_backward(dh, cache, dh_final=None):
    """Backpropagation through time.

    dh (N, T, H): upstream gradient on every step's h; ``dh_final`` (N, H): optional
    extra gradient on h_T (e.g. from a decoder that started from it).
    -> (dx, dh0, dWx, dWh, db).

    dh_t   = dh[t] + (da_{t+1} Wh^T) * m      (total gradient reaching h_t)
    da_t   = dh_t * act'(a_t) [* inside]
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
        da[t] = _pre_activation_grad(cache.nonlinearity, None if cache.pre is None else cache.pre[t],
                                     None if cache.inside is None else cache.inside[t], h[t + 1], dh_t)
        dh_next = dropped(times_WhT(da[t]), cache.recurrent_mask)  # into h_{t-1}
    dh_next = xp.ascontiguousarray(dh_next)
    dx, dWx = input_gradients(da, cache.x_tm, cache.Wx)
    dWh = recurrent_weight_gradient(dropped(h[:-1], cache.recurrent_mask), da)
    return Gradients((dx, dh_next, dWx, dWh, da.sum(axis=(0, 1))))
