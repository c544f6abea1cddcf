"""Long short-term memory (Hochreiter & Schmidhuber 1997, with forget gate).

    a_t = x_t Wx + h_{t-1} Wh + b              (N, 4H), columns in GATE_ORDER
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)
    g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Symbols: x_t (N, D), h_t and c_t (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
PyTorch orders its gate rows i, f, g, o: Wx = weight_ih.T with the last two
column blocks swapped (likewise Wh from weight_hh; b = b_ih + b_hh, swapped).
"""
from dataclasses import dataclass

from .activations import sigmoid
from .backend import array_module
from .checks import ShapeChecker
from .recurrence import (
    Gradients,
    batch_first,
    final_state_gradient,
    input_gradients,
    input_projection,
    recurrent_weight_gradient,
    time_major,
)

GATE_ORDER = ("i", "f", "o", "g")
_SIGMOID_GATES = 3  # i, f, o come first and share one sigmoid pass


def split_gates(a):
    """(N, 4H) -> the four (N, H) column blocks i, f, o, g (views)."""
    H = a.shape[-1] // 4
    return a[..., :H], a[..., H : 2 * H], a[..., 2 * H : 3 * H], a[..., 3 * H :]


def _sigmoid_gates(a):
    """(N, 4H) -> the (N, 3H) view of the i, f, o columns, activated in one pass."""
    H = a.shape[-1] // 4
    return a[..., : _SIGMOID_GATES * H]


def _activate_gates(a):
    """Pre-activations -> gate values, in place: sigmoid on i, f, o; tanh on g."""
    ifo, g = _sigmoid_gates(a), split_gates(a)[3]
    sigmoid(ifo, out=ifo)
    array_module(a).tanh(g, out=g)


def _cell_forward(a, c_prev, c_next, tanh_c, h_next):
    """Given a (N, 4H) pre-activations (overwritten by the gate values), write
    c_next = f * c_prev + i * g, tanh_c = tanh(c_next), h_next = o * tanh_c."""
    xp = array_module(a)
    _activate_gates(a)
    i, f, o, g = split_gates(a)
    xp.multiply(f, c_prev, out=c_next)
    c_next += i * g
    xp.tanh(c_next, out=tanh_c)
    xp.multiply(o, tanh_c, out=h_next)


def _cell_backward(dh, dc, gates, c_prev, tanh_c, da):
    """One step of the chain rule; writes da (N, 4H) and returns dc_prev (N, H).

    dh, dc: total upstream gradients on h_t and c_t (dc from step t+1 only).
    h = o * tanh(c)          =>  do = dh * tanh(c)
                                 dc = dc + dh * o * (1 - tanh(c)^2)
    c = f * c_prev + i * g   =>  df = dc * c_prev,  di = dc * g,  dg = dc * i
                                 dc_prev = dc * f
    i,f,o = sigmoid(a_ifo)   =>  da_ifo = d(i,f,o) * s * (1 - s)
    g = tanh(a_g)            =>  da_g = dg * (1 - g^2)
    """
    i, f, o, g = split_gates(gates)
    di, df, do, dg = split_gates(da)
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    do[...] = dh * tanh_c
    df[...] = dc * c_prev
    di[...] = dc * g
    dg[...] = dc * i * (1 - g * g)
    s = _sigmoid_gates(gates)
    _sigmoid_gates(da)[...] *= s * (1 - s)
    return dc * f


def _check_lstm(x, h0, c0, Wx, Wh, b, x_dims, state_names):
    check = ShapeChecker()
    check("x", x, x_dims)
    check("Wh", Wh, ("H", "4H"))
    check("Wx", Wx, ("D", "4H"))
    check("b", b, ("4H",))
    check(state_names[0], h0, "NH")
    if c0 is not None:
        check(state_names[1], c0, "NH")


@dataclass(frozen=True)
class LSTMStepCache:
    x: object  # (N, D)
    prev_h: object  # (N, H)
    prev_c: object  # (N, H)
    Wx: object  # (D, 4H)
    Wh: object  # (H, 4H)
    gates: object  # (N, 4H) activated i, f, o, g
    tanh_c: object  # (N, H) tanh(next_c)


@dataclass(frozen=True)
class LSTMCache:
    x_tm: object  # (T*N, D) inputs, time-major
    Wx: object  # (D, 4H)
    Wh: object  # (H, 4H)
    gates: object  # (T, N, 4H) activated i, f, o, g
    c: object  # (T+1, N, H) c_0 .. c_T
    tanh_c: object  # (T, N, H) tanh(c_1) .. tanh(c_T)
    h: object  # (T+1, N, H) h_0 .. h_T

    @property
    def final_h(self):
        """h_T, (N, H)."""
        return self.h[-1]

    @property
    def final_c(self):
        """c_T, (N, H)."""
        return self.c[-1]


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One step: x (N, D), prev_h (N, H), prev_c (N, H) -> next_h, next_c (N, H), cache."""
    _check_lstm(x, prev_h, prev_c, Wx, Wh, b, "ND", ("prev_h", "prev_c"))
    xp = array_module(x, prev_h, prev_c, Wx, Wh, b)
    a = x @ Wx
    a += prev_h @ Wh
    a += b
    next_c, tanh_c, next_h = (xp.empty_like(prev_c) for _ in range(3))
    _cell_forward(a, prev_c, next_c, tanh_c, next_h)
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, a, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """-> (dx, dprev_h, dprev_c, dWx, dWh, db) for one step (see ``_cell_backward``);
    then a = x Wx + prev_h Wh + b  =>  dx = da Wx^T, dprev_h = da Wh^T,
    dWx = x^T da, dWh = prev_h^T da, db = sum_n da."""
    xp = array_module(dnext_h)
    da = xp.empty_like(cache.gates)
    dprev_c = _cell_backward(dnext_h, dnext_c, cache.gates, cache.prev_c, cache.tanh_c, da)
    return (
        da @ cache.Wx.T,
        da @ cache.Wh.T,
        dprev_c,
        cache.x.T @ da,
        cache.prev_h.T @ da,
        da.sum(axis=0),
    )


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """Run the LSTM over a whole sequence.

    x (N, T, D), h0 (N, H), optional c0 (N, H) (zeros when None)
    -> h (N, T, H) every step's hidden state, cache.
    The final state is ``(cache.final_h, cache.final_c)``.
    """
    _check_lstm(x, h0, c0, Wx, Wh, b, "NTD", ("h0", "c0"))
    xp = array_module(x, h0, Wx, Wh, b)
    x_tm, gates = input_projection(x, Wx, b)  # (T*N, D), (T, N, 4H)
    T, N, H = gates.shape[0], gates.shape[1], h0.shape[1]
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    c = xp.empty((T + 1, N, H), dtype=x.dtype)
    tanh_c = xp.empty((T, N, H), dtype=x.dtype)
    h[0] = h0
    c[0] = 0 if c0 is None else c0
    for t in range(T):
        gates[t] += h[t] @ Wh  # a_t = x_t Wx + b + h_{t-1} Wh
        _cell_forward(gates[t], c[t], c[t + 1], tanh_c[t], h[t + 1])
    return batch_first(h[1:]), LSTMCache(x_tm, Wx, Wh, gates, c, tanh_c, h)


def lstm_backward(dh, cache, dh_final=None, dc_final=None):
    """Backpropagation through time.

    dh (N, T, H): upstream gradient on every step's h; ``dh_final``, ``dc_final``
    (N, H): optional extra gradients on h_T and c_T (e.g. from a decoder started
    from this state).
    -> ``Gradients`` (dx, dh0, dWx, dWh, db) with the attribute ``dc0``.

    dh_t = dh[t] + da_{t+1} Wh^T        total gradient reaching h_t
    dc_t = dc_prev returned by step t+1  (dc_final at t = T)
    da_t, dc_{t-1} = _cell_backward(dh_t, dc_t, ...)
    dWh = sum_t h_{t-1}^T da_t;  dWx, db, dx: see ``input_gradients``
    """
    xp = array_module(dh)
    T, N, H = cache.tanh_c.shape
    ShapeChecker(N=N, T=T, H=H)("dh", dh, "NTH")
    dh_tm = time_major(dh)  # (T, N, H)
    da = xp.empty_like(cache.gates)  # (T, N, 4H)
    dh_next = final_state_gradient("dh_final", dh_final, N, H, dh.dtype)
    dc_next = final_state_gradient("dc_final", dc_final, N, H, dh.dtype)
    for t in reversed(range(T)):
        dh_t = dh_tm[t] + dh_next
        dc_next = _cell_backward(dh_t, dc_next, cache.gates[t], cache.c[t], cache.tanh_c[t], da[t])
        dh_next = da[t] @ cache.Wh.T  # into h_{t-1}
    dx, dWx, db = input_gradients(da, cache.x_tm, cache.Wx)
    dWh = recurrent_weight_gradient(cache.h[:-1], da)
    return Gradients((dx, dh_next, dWx, dWh, db), dc0=dc_next)
