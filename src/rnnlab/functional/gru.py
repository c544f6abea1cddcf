"""Gated recurrent unit (Cho et al. 2014), both conventions, gate columns r, z, n.

    r = sigmoid(x Wx_r + bx_r + h_{t-1} Wh_r + bh_r)
    z = sigmoid(x Wx_z + bx_z + h_{t-1} Wh_z + bh_z)
    reset_after=True  (cuDNN, PyTorch, Keras default; ONNX linear_before_reset=1):
        n = tanh(x Wx_n + bx_n + r * (h_{t-1} Wh_n + bh_n))
    reset_after=False (Cho et al. 2014; ONNX linear_before_reset=0):
        n = tanh(x Wx_n + (r * h_{t-1}) Wh_n + b_n)
    h_t = (1 - z) * n + z * h_{t-1}

Options (ONNX GRU attributes): ``activations=(f, g)`` replace sigmoid (r, z) and tanh (n),
any of ``gate_activations``; ``gate_clip=k`` clips every pre-activation to [-k, k]
before its activation (ONNX ``clip``).

Symbols: x (N, D), h (N, H), Wx (D, 3H), Wh (H, 3H). The bias b is (2, 3H) with
reset_after (row 0 the input bias bx, row 1 the recurrent bias bh, as Keras stores
it; PyTorch's b_ih and b_hh) and (3H,) without (one bias; r and z need no second).

Tests: tests/test_gru.py, tests/test_recurrent_mask.py, tests/test_torch_crosscheck.py
(nn.GRU), tests/test_onnx_crosscheck.py, tests/test_properties.py.
"""
from dataclasses import dataclass

from .backend import array_module, compiled_loops_serve
from .checks import check_bound, check_cell
from .gate_activations import SIGMOID, TANH, gate_activations
from .recurrence import (
    Gradients,
    StateSequence,
    batch_first,
    cached_stepper,
    check_recurrent_mask,
    clip_recording,
    dropped,
    input_gradients,
    input_projection,
    step_backward_from_sequence,
    recurrent_product,
    recurrent_weight_gradient,
    upstream_gradients,
)

GATE_ORDER = ("r", "z", "n")


def split_gru_gates(a):
    """(..., 3H) -> the r, z, n blocks (views)."""
    H = a.shape[-1] // 3
    return a[..., :H], a[..., H : 2 * H], a[..., 2 * H :]


def _rz(a):
    """The contiguous r, z columns of (..., 3H): one sigmoid pass."""
    return a[..., : 2 * (a.shape[-1] // 3)]


@dataclass(frozen=True)
class GRUCache(StateSequence):
    reset_after: bool
    x_tm: object  # (T*N, D) inputs, time-major
    Wx: object  # (D, 3H)
    Wh: object  # (H, 3H)
    bh: object  # (3H,) recurrent bias (reset_after) or None
    gates: object  # (T, N, 3H) gate values r, z, n
    hn: object  # (T, N, H) h_{t-1} Wh_n + bh_n (reset_after) or r * h_{t-1} (not)
    h: object  # (T+1, N, H) h_0 .. h_T
    recurrent_mask: object = None  # (N, H) variational recurrent dropout mask
    activations: tuple = (SIGMOID, TANH)  # f (r, z), g (n)
    gate_clip: float = None
    gate_inside: object = None  # (T, N, 3H) bool: pre-activation inside the clip
    pre: object = None  # (T, N, 3H) pre-activations (after the clip), when f or g reads them


def _columns(cache, k):
    """The gate columns activation k serves: 0 (f) r and z, 1 (g) n."""
    H = cache.h.shape[2]
    return slice(0, 2 * H) if k == 0 else slice(2 * H, 3 * H)


def _activate(cache, t, a, k):
    """Clip (ONNX clip) and activate the block a of gates[t] (k = 0: f, 1: g) in place,
    keeping what the backward pass reads."""
    columns = _columns(cache, k)
    if cache.gate_clip is not None:
        clip_recording(a, cache.gate_clip, cache.gate_inside[t][:, columns])
    if cache.pre is not None:
        cache.pre[t][:, columns] = a
    cache.activations[k](a, out=a)


def _derivative(cache, t, k, y):
    """d(activation)/d(pre-activation) of block k at step t, the clip's inside included."""
    columns = _columns(cache, k)
    pre = None if cache.pre is None else cache.pre[t][:, columns]
    d = cache.activations[k].derivative(pre, y)
    return d if cache.gate_clip is None else d * cache.gate_inside[t][:, columns]


def _step_forward(cache, t):
    """h_t from h_{t-1} = h[t] and gates[t] holding x_t Wx + bx."""
    xp = array_module(cache.gates)
    a, h_prev = cache.gates[t], cache.h[t]
    hm = dropped(h_prev, cache.recurrent_mask)  # what the recurrent products read
    H = h_prev.shape[1]
    r, z, n = split_gru_gates(a)
    if cache.reset_after:
        ah = hm @ cache.Wh  # (N, 3H)
        ah += cache.bh
        _rz(a)[...] += _rz(ah)
        _activate(cache, t, _rz(a), 0)
        cache.hn[t] = split_gru_gates(ah)[2]  # h_{t-1} Wh_n + bh_n
        n += r * cache.hn[t]
    else:
        _rz(a)[...] += hm @ _rz(cache.Wh)
        _activate(cache, t, _rz(a), 0)
        xp.multiply(r, hm, out=cache.hn[t])  # r * h_{t-1}
        n += cache.hn[t] @ cache.Wh[:, 2 * H :]
    _activate(cache, t, n, 1)
    h = cache.h[t + 1]
    xp.subtract(h_prev, n, out=h)  # h_t = n + z * (h_{t-1} - n)
    h *= z
    h += n


def _step_backward(cache, t, dh, dax, dah_n):
    """Step t of the chain rule; writes dax[t] (d of x Wx + bx) and dah_n[t] (d of the
    n part of the recurrent product); returns the part of dh_prev outside the GEMMs.
    hm = h_prev * m is what the recurrent products read (hm = h_prev without dropout).

    h = n + z (h_prev - n)      =>  dn = dh (1 - z),  dz = dh (h_prev - n),  dh_prev = dh z
    n = g(a_n)                  =>  da_n = dn g'(a_n)        (tanh: 1 - n^2) [* inside]
    reset_after: a_n = ax_n + r * hn, hn = hm Wh_n + bh_n
                                =>  dr = da_n * hn,  d(hn) = da_n * r
    otherwise:   a_n = ax_n + hn Wh_n, hn = r * hm
                                =>  d(hn) = da_n Wh_n^T,  dr = d(hn) * hm,
                                    dh_prev += (d(hn) * r) * m
    r, z = f(...)               =>  da_r = dr f'(a_r),  da_z = dz f'(a_z)   (sigmoid: s (1 - s))
    """
    r, z, n = split_gru_gates(cache.gates[t])
    h_prev, hn = cache.h[t], cache.hn[t]
    da_r, da_z, da_n = split_gru_gates(dax[t])
    H = h_prev.shape[1]
    dh_prev = dh * z
    drz = _derivative(cache, t, 0, cache.gates[t][:, : 2 * H])  # f' of r and z
    da_z[...] = dh * (h_prev - n) * drz[:, H:]
    da_n[...] = dh * (1 - z) * _derivative(cache, t, 1, n)
    if cache.reset_after:
        da_r[...] = da_n * hn * drz[:, :H]
        dah_n[t] = da_n * r
    else:
        dhn = da_n @ cache.Wh[:, 2 * H :].T
        da_r[...] = dhn * dropped(h_prev, cache.recurrent_mask) * drz[:, :H]
        dh_prev += dropped(dhn * r, cache.recurrent_mask)
        dah_n[t] = da_n
    return dh_prev


def gru_forward(x, h0, Wx, Wh, b, reset_after=True, *, recurrent_mask=None, activations=None,
                gate_clip=None):
    """Run the GRU over a sequence: x (N, T, D), h0 (N, H) -> h (N, T, H), cache.
    The final state is ``h[:, -1]`` (also ``cache.final_h``). ``recurrent_mask`` (N, H):
    variational recurrent dropout; the recurrent products read h_{t-1} * m, the
    z * h_{t-1} term keeps h_{t-1} (as Keras)."""
    check_cell(x, h0, Wx, Wh, b, "NTD", "h0", "3H", ("2", "3H") if reset_after else None)
    check_recurrent_mask(recurrent_mask, h0)
    return _forward(x, h0, Wx, Wh, b, reset_after, recurrent_mask,
                    **gru_options(activations, gate_clip))


def gru_options(activations=None, gate_clip=None):
    """The checked options: ``activations`` as two Activations, ``gate_clip``."""
    return dict(activations=gate_activations(activations, ("sigmoid", "tanh")) or (SIGMOID, TANH),
                gate_clip=check_bound("gate_clip", gate_clip))


def _buffers(activations, gate_clip, T, N, H, xp, dtype):
    """The optional per-step buffers of the cache: gate_inside, pre."""
    inside = None if gate_clip is None else xp.empty((T, N, 3 * H), bool)
    keep = any(a.needs_input for a in activations)
    return dict(activations=activations, gate_clip=gate_clip, gate_inside=inside,
                pre=xp.empty((T, N, 3 * H), dtype) if keep else None)


def _forward(x, h0, Wx, Wh, b, reset_after, recurrent_mask=None, activations=(SIGMOID, TANH),
             gate_clip=None):
    xp = array_module(x, h0, Wx, Wh, b)
    bx, bh = (b[0], b[1]) if reset_after else (b, None)
    x_tm, gates = input_projection(x, Wx, bx)  # (T*N, D), (T, N, 3H)
    T, N, H = gates.shape[0], gates.shape[1], h0.shape[1]
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    cache = GRUCache(reset_after, x_tm, Wx, Wh, bh, gates, xp.empty((T, N, H), x.dtype), h,
                     recurrent_mask, **_buffers(activations, gate_clip, T, N, H, xp, x.dtype))
    if (reset_after and activations == (SIGMOID, TANH) and gate_clip is None
            and compiled_loops_serve(x, h0, Wx, Wh, b, recurrent_mask)):
        from . import gru_compiled  # the same buffers filled by one compiled pass a step

        gru_compiled.forward_loop(gates, h, cache.hn, Wh, bh, recurrent_mask)
    else:
        for t in range(T):
            _step_forward(cache, t)
    return batch_first(h[1:]), cache


def gru_backward(dh, cache, dh_final=None):
    """Backpropagation through time: dh (N, T, H), optional dh_final (N, H)
    -> (dx, dh0, dWx, dWh, db), db shaped like b.

    Per step (``_step_backward``), then dh_prev += ([da_r, da_z, dah_n] Wh^T) * m
    (reset_after) or ([da_r, da_z] Wh_rz^T) * m. After the loop (hm = h * m):
    dWx, dx from dax;  dbx = sum dax;
    reset_after: dWh = sum_t hm_{t-1}^T [da_r, da_z, dah_n],  dbh = sum [da_r, da_z, dah_n]
    otherwise:   dWh_rz = sum_t hm_{t-1}^T [da_r, da_z],  dWh_n = sum_t (r hm_{t-1})^T da_n
    """
    xp = array_module(dh)
    T, N, H = cache.hn.shape
    dh_tm, dh_next = upstream_gradients(dh, dh_final, T, N, H)  # (T, N, H), (N, H)
    dax = xp.empty_like(cache.gates)  # (T, N, 3H)
    dah_n = xp.empty((T, N, H), dh.dtype)
    Wh = cache.Wh
    times_WhT_rz = recurrent_product(_rz(Wh).T, N)  # [da_r, da_z] Wh_rz^T
    times_WhT_n = recurrent_product(Wh[:, 2 * H :].T, N) if cache.reset_after else None
    for t in reversed(range(T)):
        dh_t = dh_tm[t] + dh_next
        dh_direct = _step_backward(cache, t, dh_t, dax, dah_n)
        dhm = times_WhT_rz(_rz(dax[t]))
        if cache.reset_after:
            dhm = dhm + times_WhT_n(dah_n[t])
        dh_next = dh_direct + dropped(dhm, cache.recurrent_mask)
    dx, dWx = input_gradients(dax, cache.x_tm, cache.Wx)
    dbx = dax.sum(axis=(0, 1))
    h_prev = dropped(cache.h[:-1], cache.recurrent_mask)
    dWh = xp.empty_like(Wh)
    dWh[:, : 2 * H] = recurrent_weight_gradient(h_prev, _rz(dax))
    dWh[:, 2 * H :] = recurrent_weight_gradient(h_prev if cache.reset_after else cache.hn, dah_n)
    if cache.reset_after:
        db = xp.stack([dbx, xp.concatenate([_rz(dbx), dah_n.sum(axis=(0, 1))])])
    else:
        db = dbx
    return Gradients((dx, dh_next, dWx, dWh, db))


def gru_stepper(Wx, Wh, b, N, reset_after=True, activations=None, gate_clip=None):
    """For inference one step at a time (sampling): -> step(x (N, D), h (N, H)) -> next_h,
    the step of ``gru_forward`` on one cache allocated here once, without checks."""
    xp = array_module(Wx)
    bx, bh = (b[0], b[1]) if reset_after else (b, None)
    H = Wh.shape[0]
    options = gru_options(activations, gate_clip)
    cache = GRUCache(reset_after, None, Wx, Wh, bh, xp.empty((1, N, 3 * H), Wx.dtype),
                     xp.empty((1, N, H), Wx.dtype), xp.empty((2, N, H), Wx.dtype),
                     **_buffers(options["activations"], gate_clip, 1, N, H, xp, Wx.dtype))
    return cached_stepper(cache, _step_forward, Wx, bx)


def gru_step_forward(x, prev_h, Wx, Wh, b, reset_after=True, activations=None, gate_clip=None):
    """One step: x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
    check_cell(x, prev_h, Wx, Wh, b, "ND", "prev_h", "3H", ("2", "3H") if reset_after else None)
    h, cache = _forward(x[:, None], prev_h, Wx, Wh, b, reset_after,
                        **gru_options(activations, gate_clip))
    return h[:, 0], cache


def gru_step_backward(dnext_h, cache):
    """-> (dx, dprev_h, dWx, dWh, db) for one step."""
    return step_backward_from_sequence(gru_backward, dnext_h, cache)
