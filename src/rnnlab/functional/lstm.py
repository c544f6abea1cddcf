"""Long short-term memory and its variants, one implementation with options.

Plain LSTM (Hochreiter & Schmidhuber 1997, forget gate of Gers et al. 2000):

    a_t = x_t Wx + h_{t-1} Wh + b              (N, 4H), columns i, f, o, g
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Options (any combination):

    peepholes {"p_i","p_f","p_o"} -> (H,)   Gers & Schmidhuber 2000:
        a_i += p_i * c_{t-1},  a_f += p_f * c_{t-1},  a_o += p_o * c_t
    cifg=True                         coupled input-forget gate: i = 1 - f; the
        gate columns are f, o, g (G = 3H) and there are no input-gate weights
    Wp (H, P)                         projection (LSTMP, PyTorch proj_size):
        h_t = (o * tanh(c_t)) Wp; h_t is (N, P) and Wh is (P, G)
    cell_clip=k                       TF1 LSTMCell(cell_clip=): c_t = clip(c_t, -k, k)
        (the clipped c_t is the state and what the o peephole sees)
    gate_clip=k                       ONNX LSTM `clip`: every gate pre-activation
        (peephole term included) is clipped to [-k, k] before its activation
    activations=(f, g, h)             ONNX LSTM `activations` (Keras recurrent_activation,
        activation): i, f, o = f(a_i), f(a_f), f(a_o); g = g(a_g); h_t = o * h(c_t); any of
        ``gate_activations`` (default sigmoid, tanh, tanh)
    layer_norm {"gamma_x","gamma_h": (G,), "gamma_c","beta_c": (H,)}
        Ba, Kiros & Hinton 2016:  a_t = LN(x_t Wx; gamma_x) + LN(h_{t-1} Wh; gamma_h) + b,
        h_t = o * tanh(LN(c_t; gamma_c, beta_c)); c_t itself is carried unnormalised
    depth_gate {"Wxd": (D, H), "bd": (H,), "w_c": (H,), "w_l": (H,)} with lower_c (N, T, H)
        Depth-Gated LSTM (Yao et al. 2015), x_t = h^L_t of the layer below:
        d_t = sigmoid(b_d + x_t Wxd + w_c * c_{t-1} + w_l * c^L_t)
        c_t = d_t * c^L_t + f * c_{t-1} + i * g

Symbols: N batch, T time, D input, H cell, P output (P = H without projection),
G = 4H (3H with cifg). The forget-gate bias is a weight like any other; see
``lstm_bias`` for the customary initialisation to 1.

PyTorch orders its gate rows i, f, g, o: Wx = weight_ih.T with the last two
column blocks swapped (likewise Wh from weight_hh; b = b_ih + b_hh, swapped).

Tests: tests/test_lstm.py, tests/test_lstm_variants.py (every option),
tests/test_recurrent_mask.py, tests/test_torch_crosscheck.py (nn.LSTM),
tests/test_onnx_crosscheck.py, tests/test_properties.py.
"""
from dataclasses import dataclass

import numpy as np

from .activations import sigmoid
from .backend import array_module, compiled_loops_serve
from .checks import ShapeChecker, check_bound
from .gate_activations import SIGMOID, TANH, gate_activations
from .layer_norm import normalize, normalize_backward
from . import lstm_fused
from .recurrence import (
    Gradients,
    batch_first,
    check_recurrent_mask,
    clip_recording,
    dropped,
    final_state_gradient,
    input_gradients,
    input_projection,
    recurrent_product,
    recurrent_weight_gradient,
    time_major,
)

GATE_ORDER = ("i", "f", "o", "g")
CIFG_GATE_ORDER = ("f", "o", "g")
PEEPHOLE_GATES = ("i", "f", "o")
PEEPHOLE_KEYS = tuple("p_" + g for g in PEEPHOLE_GATES)  # the peephole weights' names
DEPTH_GATE_KEYS = ("Wxd", "bd", "w_c", "w_l")  # the depth gate's weights, as the layer names them


@dataclass(frozen=True)
class LSTMOptions:
    """Which variant: the static part of an LSTM, weights aside."""

    peephole_gates: tuple = ()  # subset of PEEPHOLE_GATES, in that order
    cifg: bool = False
    projection: bool = False
    cell_clip: float = None
    gate_clip: float = None
    layer_norm: bool = False
    depth_gate: bool = False
    activations: tuple = None  # (f, g, h) Activations; None: sigmoid, tanh, tanh

    @property
    def gate_act(self):
        return self.activations[0] if self.activations else SIGMOID

    @property
    def cell_act(self):
        return self.activations[1] if self.activations else TANH

    @property
    def out_act(self):
        return self.activations[2] if self.activations else TANH

    @property
    def gates(self):
        return CIFG_GATE_ORDER if self.cifg else GATE_ORDER

    @property
    def late_o(self):
        """The o gate reads c_t, so it is activated after the cell update."""
        return "o" in self.peephole_gates

    @property
    def early_sigmoid(self):
        """The sigmoid gates activated before the cell update: contiguous columns."""
        end = self.gates.index("o") + (0 if self.late_o else 1)
        return self.gates[:end]


PLAIN = LSTMOptions()  # no option: run by the fused loops of lstm_fused.py


def fused_loops(*arrays):
    """The module whose forward_loop / backward_loop run the plain LSTM on ``arrays``:
    lstm_compiled (the numba backend) where it serves them, else lstm_fused."""
    if compiled_loops_serve(*arrays):
        from . import lstm_compiled

        return lstm_compiled
    return lstm_fused


# 1 unit: the loops stepping in Python; 512: one row's h Wh is 2^20 multiply-adds, enough
# for the onednn path's loops that run whole in compiled code
PREPARED_UNITS = (1, 512)


def prepare_fused_loops(dtype):
    """Have the plain LSTM's loops ready for ``dtype`` now: on a compiled path, a forward
    and backward of one step of one row for each of PREPARED_UNITS compiles the kernels
    (seconds, once per machine) or loads them from Numba's cache, so that a timed run does
    not count it."""
    dtype = np.dtype(dtype)
    if fused_loops(np.empty(0, dtype)) is not lstm_fused:
        for H in PREPARED_UNITS:
            x, h0 = np.ones((1, 1, 1), dtype), np.zeros((1, H), dtype)
            Wx, Wh, b = np.ones((1, 4 * H), dtype), np.zeros((H, 4 * H), dtype), np.ones(4 * H, dtype)
            h, cache = lstm_forward(x, h0, Wx, Wh, b)
            lstm_backward(np.ones_like(h), cache)


def split_gates(a, gates=GATE_ORDER):
    """(..., len(gates) H) -> one (..., H) view per gate name, in ``gates`` order."""
    H = a.shape[-1] // len(gates)
    return tuple(a[..., k * H : (k + 1) * H] for k in range(len(gates)))


def lstm_bias(H, forget_bias=1.0, cifg=False, dtype="float32"):
    """The customary initial LSTM bias, (4H,) (3H, with cifg): zeros except the forget
    gate's block, ``forget_bias`` (1.0 as char-rnn, TF and Keras ``unit_forget_bias``)."""
    gates = CIFG_GATE_ORDER if cifg else GATE_ORDER
    b = np.zeros(len(gates) * H, dtype=dtype)
    split_gates(b, gates)[gates.index("f")][...] = forget_bias
    return b


def _block(a, opts, name):
    return split_gates(a, opts.gates)[opts.gates.index(name)]


def _input_gate(gates, opts):
    """The i gate's values: its block, or 1 - f with cifg."""
    return 1 - _block(gates, opts, "f") if opts.cifg else _block(gates, opts, "i")


def _span(a, opts, names):
    """The contiguous columns of the gates ``names`` (consecutive in opts.gates)."""
    H = a.shape[-1] // len(opts.gates)
    start = opts.gates.index(names[0]) if names else 0
    return a[..., start * H : (start + len(names)) * H]


@dataclass
class LSTMCache:
    """Everything the backward pass needs, time-major. Optional fields are None when
    their option is off."""

    opts: LSTMOptions
    w: dict  # the weights by name: Wx, Wh, b, p_i, p_f, p_o, Wp, gamma_*, beta_c, Wxd, bd, w_c, w_l
    x_tm: object  # (T*N, D) inputs, time-major
    gates: object  # (T, N, G) gate values (i, f, o, g or f, o, g)
    c: object  # (T+1, N, H) c_0 .. c_T (after cell clipping)
    tanh_c: object  # (T, N, H) tanh(c_t), or tanh(LN(c_t))
    h: object  # (T+1, N, P) h_0 .. h_T
    gate_inside: object = None  # (T, N, G) bool, pre-activation inside the gate clip
    cell_inside: object = None  # (T, N, H) bool, c_t inside the cell clip
    xhat_x: object = None  # (T, N, G), rstd_x (T, N, 1): LN of x_t Wx
    rstd_x: object = None
    xhat_h: object = None  # (T, N, G), rstd_h (T, N, 1): LN of h_{t-1} Wh
    rstd_h: object = None
    xhat_c: object = None  # (T, N, H), rstd_c (T, N, 1): LN of c_t
    rstd_c: object = None
    depth: object = None  # (T, N, H) depth-gate values d_t
    lower_c: object = None  # (T, N, H) the lower layer's cells c^L_t
    recurrent_mask: object = None  # (N, P) variational recurrent dropout mask
    pre: object = None  # (T, N, G) gate pre-activations (after clipping), custom activations
    pre_u: object = None  # (T, N, H) what h(.) reads: c_t or LN(c_t), custom activations

    @property
    def final_h(self):
        """h_T, (N, P)."""
        return self.h[-1]

    @property
    def final_c(self):
        """c_T, (N, H)."""
        return self.c[-1]

    @property
    def cell_states(self):
        """c_1 .. c_T batch-first, (N, T, H): the lower_c of a depth-gated layer above."""
        return batch_first(self.c[1:])


def _allocate(opts, w, x_tm, gates, h0, c0, H, xp):
    T, N, G = gates.shape
    P, dtype = h0.shape[1], gates.dtype
    empty = lambda *shape: xp.empty(shape, dtype=dtype)  # noqa: E731
    cache = LSTMCache(opts, w, x_tm, gates, empty(T + 1, N, H), empty(T, N, H), empty(T + 1, N, P))
    cache.h[0] = h0
    cache.c[0] = 0 if c0 is None else c0
    if opts.gate_clip is not None:
        cache.gate_inside = xp.empty((T, N, G), dtype=bool)
    if opts.cell_clip is not None:
        cache.cell_inside = xp.empty((T, N, H), dtype=bool)
    if opts.layer_norm:
        cache.xhat_h, cache.rstd_h = empty(T, N, G), empty(T, N, 1)
        cache.xhat_c, cache.rstd_c = empty(T, N, H), empty(T, N, 1)
    if opts.depth_gate:
        cache.depth = empty(T, N, H)
    if opts.activations:
        cache.pre, cache.pre_u = empty(T, N, G), empty(T, N, H)
    return cache


def _step_forward(cache, t):
    """Step t: from h_{t-1} = h[t], c_{t-1} = c[t] and gates[t] holding the input part
    of the pre-activations, write the gate values, c_t, tanh_c and h_t."""
    opts, w = cache.opts, cache.w
    xp = array_module(cache.gates)
    a, c_prev, c = cache.gates[t], cache.c[t], cache.c[t + 1]
    ah = dropped(cache.h[t], cache.recurrent_mask) @ w["Wh"]  # (N, G)
    if opts.layer_norm:  # LN(h_{t-1} Wh; gamma_h)
        cache.xhat_h[t], cache.rstd_h[t] = normalize(ah)
        xp.multiply(cache.xhat_h[t], w["gamma_h"], out=ah)
    a += ah
    for name in opts.peephole_gates:
        if name != "o":  # a_i, a_f += p * c_{t-1}
            _block(a, opts, name)[...] += w["p_" + name] * c_prev
    early, g = _span(a, opts, opts.early_sigmoid), _block(a, opts, "g")
    if opts.gate_clip is not None:
        inside = cache.gate_inside[t]
        clip_recording(early, opts.gate_clip, _span(inside, opts, opts.early_sigmoid))
        clip_recording(g, opts.gate_clip, _block(inside, opts, "g"))
    if cache.pre is not None:
        cache.pre[t] = a
    opts.gate_act(early, out=early)
    opts.cell_act(g, out=g)
    f, i = _block(a, opts, "f"), _input_gate(a, opts)
    xp.multiply(f, c_prev, out=c)  # c_t = f * c_{t-1} + i * g
    c += i * g
    if opts.depth_gate:  # c_t += d_t * c^L_t
        d = cache.depth[t]  # holds b_d + x_t Wxd
        d += w["w_c"] * c_prev + w["w_l"] * cache.lower_c[t]
        sigmoid(d, out=d)
        c += d * cache.lower_c[t]
    if opts.cell_clip is not None:
        clip_recording(c, opts.cell_clip, cache.cell_inside[t])
    o = _block(a, opts, "o")
    if opts.late_o:  # a_o += p_o * c_t
        o += w["p_o"] * c
        if opts.gate_clip is not None:
            clip_recording(o, opts.gate_clip, _block(cache.gate_inside[t], opts, "o"))
        if cache.pre is not None:
            _block(cache.pre[t], opts, "o")[...] = o
        opts.gate_act(o, out=o)
    u = cache.tanh_c[t]
    if opts.layer_norm:  # h(LN(c_t; gamma_c, beta_c))
        cache.xhat_c[t], cache.rstd_c[t] = normalize(c)
        xp.multiply(cache.xhat_c[t], w["gamma_c"], out=u)
        u += w["beta_c"]
    else:
        u[...] = c
    if cache.pre_u is not None:
        cache.pre_u[t] = u
    opts.out_act(u, out=u)
    if opts.projection:  # h_t = (o * tanh(c_t)) Wp
        xp.matmul(o * cache.tanh_c[t], w["Wp"], out=cache.h[t + 1])
    else:
        xp.multiply(o, cache.tanh_c[t], out=cache.h[t + 1])


@dataclass
class _Backward:
    """Time-major gradient buffers the backward loop writes, step by step."""

    da: object  # (T, N, G) gate pre-activations
    dah: object  # (T, N, G) h_{t-1} Wh (da itself without layer norm)
    dln_c: object = None  # (T, N, H) the output of LN(c_t)
    ddepth: object = None  # (T, N, H) depth-gate pre-activations
    dlower_c: object = None  # (T, N, H) the lower layer's cells


def _step_backward(cache, t, dh, dc, grads):
    """Step t of the chain rule. dh (N, P): total gradient on h_t; dc (N, H): gradient on
    c_t from step t+1 (and from above). Writes step t of the ``grads`` buffers and
    returns dc_prev (N, H).

    h = m Wp                   =>  dm = dh Wp^T                     (m = dh without Wp)
    m = o * u, u = h(cn)       =>  do = dm * u,  dcn = dm * o * h'(cn)   (tanh: 1 - u^2)
    cn = LN(c; gamma_c, beta_c) =>  dc += normalize_backward(dcn * gamma_c)   (cn = c without LN)
    a_o += p_o * c (late o)    =>  da_o = do * o (1 - o) [* inside],  dc += da_o * p_o
    c = clip(c~)               =>  dc *= inside
    c~ += d * c^L              =>  dd = dc * c^L,  dc^L = dc * d + da_d * w_l,
                                   da_d = dd * d (1 - d),  dc_prev += da_d * w_c
    c~ = f * c_prev + i * g    =>  df = dc * c_prev,  di = dc * g,  dg = dc * i,
                                   dc_prev += dc * f;   cifg (i = 1 - f): df -= di
    f, g activations           =>  da = d(gate) * f'(a),  da_g = dg * g'(a_g)   [* inside]
                                   (sigmoid: f' = s (1 - s); tanh: g' = 1 - g^2)
    a_i, a_f += p * c_prev     =>  dc_prev += da_i * p_i + da_f * p_f
    a = LN(h_prev Wh; gamma_h) =>  dah = normalize_backward(da * gamma_h)   (dah = da without LN)
    """
    opts, w = cache.opts, cache.w
    gates, c_prev, u = cache.gates[t], cache.c[t], cache.tanh_c[t]
    o, g, f = (_block(gates, opts, name) for name in ("o", "g", "f"))
    i = _input_gate(gates, opts)
    dm = dh @ w["Wp"].T if opts.projection else dh
    da_t = grads.da[t]
    do = _block(da_t, opts, "o")
    do[...] = dm * u
    pre = cache.pre[t] if cache.pre is not None else None
    dcn = dm * o * opts.out_act.derivative(None if pre is None else cache.pre_u[t], u)
    if opts.layer_norm:
        grads.dln_c[t] = dcn
        dcn = normalize_backward(dcn * w["gamma_c"], cache.xhat_c[t], cache.rstd_c[t])
    dc = dc + dcn
    if opts.late_o:
        do *= opts.gate_act.derivative(None if pre is None else _block(pre, opts, "o"), o)
        if opts.gate_clip is not None:
            do *= _block(cache.gate_inside[t], opts, "o")
        dc += do * w["p_o"]
    if opts.cell_clip is not None:
        dc *= cache.cell_inside[t]
    dc_prev = dc * f
    if opts.depth_gate:
        d, cl, dd = cache.depth[t], cache.lower_c[t], grads.ddepth[t]
        dd[...] = dc * cl * d * (1 - d)
        grads.dlower_c[t] = dc * d + dd * w["w_l"]
        dc_prev += dd * w["w_c"]
    df = _block(da_t, opts, "f")
    df[...] = dc * c_prev
    if opts.cifg:
        df -= dc * g
    else:
        _block(da_t, opts, "i")[...] = dc * g
    _block(da_t, opts, "g")[...] = dc * i * opts.cell_act.derivative(
        None if pre is None else _block(pre, opts, "g"), g)
    s = _span(gates, opts, opts.early_sigmoid)
    _span(da_t, opts, opts.early_sigmoid)[...] *= opts.gate_act.derivative(
        None if pre is None else _span(pre, opts, opts.early_sigmoid), s)
    if opts.gate_clip is not None:
        inside = cache.gate_inside[t]
        _span(da_t, opts, opts.early_sigmoid)[...] *= _span(inside, opts, opts.early_sigmoid)
        _block(da_t, opts, "g")[...] *= _block(inside, opts, "g")
    for name in opts.peephole_gates:
        if name != "o":
            dc_prev += _block(da_t, opts, name) * w["p_" + name]
    if opts.layer_norm:
        grads.dah[t] = normalize_backward(da_t * w["gamma_h"], cache.xhat_h[t], cache.rstd_h[t])
    return dc_prev


def _check(opts, x, h0, c0, w, x_dims, state_names, lower_c):
    """Validate every array against one set of sizes; fills ``w`` in place."""
    check = ShapeChecker()
    G = f"{len(opts.gates)}H"
    check("x", x, x_dims)
    if opts.projection:
        check("Wp", w["Wp"], "HP")
    check("Wh", w["Wh"], ("P" if opts.projection else "H", G))
    check("Wx", w["Wx"], ("D", G))
    check("b", w["b"], (G,))
    check(state_names[0], h0, "N" + ("P" if opts.projection else "H"))
    if c0 is not None:
        check(state_names[1], c0, "NH")
    for name in opts.peephole_gates:
        check(f"peepholes['p_{name}']", w["p_" + name], "H")
    if opts.layer_norm:
        for name, dims in (("gamma_x", (G,)), ("gamma_h", (G,)), ("gamma_c", "H"), ("beta_c", "H")):
            check(f"layer_norm[{name!r}]", w[name], dims)
    if opts.depth_gate:
        check("depth_gate['Wxd']", w["Wxd"], "DH")
        for name in DEPTH_GATE_KEYS[1:]:
            check(f"depth_gate[{name!r}]", w[name], "H")
        check("lower_c", lower_c, x_dims[:-1] + "H")


def check_lstm_options(peepholes, cifg, cell_clip, gate_clip, names=PEEPHOLE_GATES):
    """The checks of the options that are not arrays, for ``lstm_forward`` (peepholes
    named by PEEPHOLE_KEYS) and the layer (by gate, ``names`` = PEEPHOLE_GATES)
    -> the peephole gates in PEEPHOLE_GATES order."""
    allowed = tuple(n for g, n in zip(PEEPHOLE_GATES, names) if not (cifg and g == "i"))
    if not set(peepholes) <= set(allowed):
        raise ValueError(f"peepholes: expected keys among {allowed}, got {sorted(peepholes)}")
    check_bound("cell_clip", cell_clip)
    check_bound("gate_clip", gate_clip)
    return tuple(g for g, n in zip(PEEPHOLE_GATES, names) if n in peepholes)


def _options_and_weights(Wx, Wh, b, peepholes, cifg, Wp, cell_clip, gate_clip, layer_norm,
                         depth_gate, lower_c, activations=None):
    if (depth_gate is None) != (lower_c is None):
        raise ValueError("lower_c: expected the lower layer's cells exactly when depth_gate "
                         "is given")
    peepholes = dict(peepholes or {})
    peephole_gates = check_lstm_options(peepholes, cifg, cell_clip, gate_clip, PEEPHOLE_KEYS)
    for name, value, keys in (("layer_norm", layer_norm, {"gamma_x", "gamma_h", "gamma_c", "beta_c"}),
                              ("depth_gate", depth_gate, set(DEPTH_GATE_KEYS))):
        if value is not None and set(value) != keys:
            raise ValueError(f"{name}: expected keys {sorted(keys)}, got {sorted(value)}")
    opts = LSTMOptions(
        peephole_gates=peephole_gates,
        cifg=bool(cifg),
        projection=Wp is not None,
        cell_clip=cell_clip,
        gate_clip=gate_clip,
        layer_norm=layer_norm is not None,
        depth_gate=depth_gate is not None,
        activations=gate_activations(activations, ("sigmoid", "tanh", "tanh")),
    )
    w = {"Wx": Wx, "Wh": Wh, "b": b, "Wp": Wp, **peepholes}
    w.update(layer_norm or {})
    w.update(depth_gate or {})
    return opts, w


def lstm_forward(x, h0, Wx, Wh, b, c0=None, *, peepholes=None, cifg=False, Wp=None,
                 cell_clip=None, gate_clip=None, layer_norm=None, depth_gate=None, lower_c=None,
                 recurrent_mask=None, activations=None):
    """Run the LSTM (with any of the options of the module docstring) over a sequence.

    x (N, T, D), h0 (N, P), optional c0 (N, H) (zeros when None), Wx (D, G), Wh (P, G),
    b (G,) -> h (N, T, P) every step's output, cache.
    The final state is ``(cache.final_h, cache.final_c)``. ``recurrent_mask`` (N, P):
    variational recurrent dropout, the recurrent product reads h_{t-1} * m.
    """
    opts, w = _options_and_weights(Wx, Wh, b, peepholes, cifg, Wp, cell_clip, gate_clip,
                                   layer_norm, depth_gate, lower_c, activations)
    _check(opts, x, h0, c0, w, "NTD", ("h0", "c0"), lower_c)
    check_recurrent_mask(recurrent_mask, h0)
    return _forward(opts, w, x, h0, c0, lower_c, recurrent_mask)


def _forward(opts, w, x, h0, c0, lower_c, recurrent_mask=None):
    Wx, b = w["Wx"], w["b"]
    xp = array_module(x, h0, Wx, b)
    H = Wx.shape[1] // len(opts.gates)
    if opts == PLAIN:  # the fused loops of lstm_fused.py or lstm_compiled.py
        loops = fused_loops(x, Wx, b, h0, w["Wh"], c0, recurrent_mask)
        x_tm, gates = input_projection(x, Wx, matmul=loops.matmul)  # x_t Wx; the loop adds b
        cache = _allocate(opts, w, x_tm, gates, h0, c0, H, xp)
        cache.recurrent_mask = recurrent_mask
        loops.forward_loop(gates, b, cache.c, cache.tanh_c, cache.h, w["Wh"], recurrent_mask)
        return batch_first(cache.h[1:]), cache
    x_tm, gates = input_projection(x, Wx, None if opts.layer_norm else b)  # (T*N, D), (T, N, G)
    cache = _allocate(opts, w, x_tm, gates, h0, c0, H, xp)
    cache.recurrent_mask = recurrent_mask
    if opts.layer_norm:
        _normalize_input(cache, gates)
    if opts.depth_gate:
        cache.depth[...] = input_projection(x, w["Wxd"], w["bd"])[1]  # b_d + x_t Wxd
        cache.lower_c = time_major(lower_c)
    for t in range(gates.shape[0]):
        _step_forward(cache, t)
    return batch_first(cache.h[1:]), cache


# gate values an inference stretch holds at least (4 MiB in float32): its buffers stay in
# cache and are reused from stretch to stretch, however long the sequence; and rows (N x
# steps) at least, for the stretch's input projection: below 1,024 rows sgemm ran here at
# 83-88% of its rate at 1,024 (K = 1,024: 256 rows 429 GFLOP/s, 1,024 rows 487)
INFERENCE_STRETCH = 1 << 20
PROJECTION_ROWS = 1 << 10


def lstm_inference(x, h0, Wx, Wh, b, c0=None, *, peepholes=None, cifg=False, Wp=None,
                   cell_clip=None, gate_clip=None, layer_norm=None, depth_gate=None,
                   lower_c=None, activations=None):
    """``lstm_forward`` for inference: the same outputs, nothing kept for a backward pass.

    Same arguments (no recurrent mask: dropout is for training) -> h (N, T, P) every
    step's output, (h_T (N, P), c_T (N, H)). The sequence runs a stretch of steps at a
    time (``stretch_steps``), each stretch starting from the state the last one ended in,
    on buffers reused from stretch to stretch: memory is the output's and a stretch's,
    whatever T (``lstm_forward`` keeps every step's gates and states). On the onednn path
    the plain cell's weights up to 8 MiB run one loop that projects its own inputs step
    by step, split by rows or by units (``lstm_compiled.inference``): memory is the
    output's.
    """
    opts, w = _options_and_weights(Wx, Wh, b, peepholes, cifg, Wp, cell_clip, gate_clip,
                                   layer_norm, depth_gate, lower_c, activations)
    _check(opts, x, h0, c0, w, "NTD", ("h0", "c0"), lower_c)
    if opts == PLAIN and fused_loops(x, h0, Wx, Wh, b) is not lstm_fused:
        from .lstm_compiled import inference  # one loop split by rows or units, where it serves

        done = inference(x, h0, c0, Wx, Wh, b)
        if done is not None:
            return done
    xp = array_module(x, h0, Wx, b)
    (N, T, _), (H, P) = x.shape, (Wx.shape[1] // len(opts.gates), h0.shape[1])
    steps = stretch_steps(N, Wx.shape[1])
    stretch = _plain_stretch(w, N, min(steps, T), xp) if opts == PLAIN else \
        lambda x, h, c, lower_c: _final_states(_forward(opts, w, x, h, c, lower_c)[1])
    y = xp.empty((N, T, P), dtype=x.dtype)
    h, c = h0, xp.zeros((N, H), dtype=x.dtype) if c0 is None else c0
    for start in range(0, T, steps):
        part = slice(start, start + steps)
        h_tm, h, c = stretch(x[:, part], h, c, None if lower_c is None else lower_c[:, part])
        y[:, part] = h_tm.swapaxes(0, 1)
    return y, (xp.array(h), xp.array(c))


def stretch_steps(N, G):
    """Steps in an inference stretch of N rows and G gate columns: INFERENCE_STRETCH gate
    values, or PROJECTION_ROWS rows if that is more; at least one step."""
    return max(1, INFERENCE_STRETCH // max(1, N * G), -(-PROJECTION_ROWS // max(1, N)))


def _final_states(cache):
    """-> (h_1 .. h_T time-major, h_T, c_T) of a forward's cache."""
    return cache.h[1:], cache.final_h, cache.final_c


def _plain_stretch(w, N, steps, xp):
    """-> stretch(x (N, T', D), h, c, lower_c=None) -> (h_1 .. h_T' time-major, h_T', c_T'),
    views of buffers for ``steps`` >= T' steps that the next call overwrites: the plain
    cell's fused loop with its per-step product prepared once for every stretch."""
    Wx, Wh, b = w["Wx"], w["Wh"], w["b"]
    loops = fused_loops(Wx, Wh, b)
    run = loops.forward_steps(Wh, N)
    H = Wh.shape[0]
    c, h = (xp.empty((steps + 1, N, H), dtype=Wx.dtype) for _ in range(2))
    no_tanh_c = xp.empty((steps, 0, 0), dtype=Wx.dtype)  # nothing kept for a backward pass

    def stretch(x, h_prev, c_prev, lower_c=None):
        T = x.shape[1]
        _, gates = input_projection(x, Wx, matmul=loops.matmul)  # x_t Wx; the loop adds b
        h[0], c[0] = h_prev, c_prev
        run(gates, b, c[: T + 1], no_tanh_c[:T], h[: T + 1])
        return h[1 : T + 1], h[T], c[T]

    return stretch


def _normalize_input(cache, gates):
    """gates holds x_t Wx for every t; make it LN(x_t Wx; gamma_x) + b, for all t at once."""
    cache.xhat_x, cache.rstd_x = normalize(gates)
    array_module(gates).multiply(cache.xhat_x, cache.w["gamma_x"], out=gates)
    gates += cache.w["b"]


def lstm_stepper(Wx, Wh, b, N, *, peepholes=None, cifg=False, Wp=None, cell_clip=None,
                 gate_clip=None, layer_norm=None, activations=None):
    """For inference one step at a time (sampling): -> step(x (N, D), h (N, P), c (N, H))
    -> (next_h, next_c), the step of ``lstm_forward`` run on one cache allocated here
    once, without checks and without keeping anything for a backward pass."""
    opts, w = _options_and_weights(Wx, Wh, b, peepholes, cifg, Wp, cell_clip, gate_clip,
                                   layer_norm, None, None, activations)
    loops = fused_loops(Wx, Wh, b) if opts == PLAIN else lstm_fused
    if loops is not lstm_fused:  # the compiled step; the NumPy path runs the general one
        return loops.stepper(Wx, Wh, b, N)
    xp = array_module(Wx)
    gates = xp.empty((1, N, Wx.shape[1]), dtype=Wx.dtype)
    cache = _allocate(opts, w, None, gates, xp.zeros((N, Wh.shape[0]), Wx.dtype), None,
                      Wx.shape[1] // len(opts.gates), xp)

    def step(x, h, c):
        xp.matmul(x, Wx, out=gates[0])
        if opts.layer_norm:
            _normalize_input(cache, gates)
        else:
            gates[0] += b
        cache.h[0], cache.c[0] = h, c
        _step_forward(cache, 0)
        return cache.h[1].copy(), cache.c[1].copy()

    return step


def _backward_steps(cache, dh_tm, dh_next, dc_next, dc_tm):
    """The time loop of ``lstm_backward`` for any options, one ``_step_backward`` a step.
    -> the filled ``_Backward`` buffers, dh_0, dc_0."""
    opts, w = cache.opts, cache.w
    xp = array_module(dh_tm)
    T, N, H = cache.tanh_c.shape
    empty = lambda *shape: xp.empty(shape, dtype=dh_tm.dtype)  # noqa: E731
    da = empty(*cache.gates.shape)
    grads = _Backward(da, empty(*da.shape) if opts.layer_norm else da)
    if opts.layer_norm:
        grads.dln_c = empty(T, N, H)
    if opts.depth_gate:
        grads.ddepth, grads.dlower_c = empty(T, N, H), empty(T, N, H)
    times_WhT = recurrent_product(w["Wh"].T, N)  # dah_t Wh^T, (N, P)
    for t in reversed(range(T)):
        dh_tm[t] += dh_next
        if dc_tm is not None:
            dc_next = dc_next + dc_tm[t]
        dc_next = _step_backward(cache, t, dh_tm[t], dc_next, grads)
        dh_next = dropped(times_WhT(grads.dah[t]), cache.recurrent_mask)  # into h_{t-1}
    return grads, xp.ascontiguousarray(dh_next), dc_next


def lstm_backward(dh, cache, dh_final=None, dc_final=None, dc=None):
    """Backpropagation through time.

    dh (N, T, P): upstream gradient on every step's h; ``dh_final`` (N, P) and
    ``dc_final`` (N, H): optional extra gradients on h_T and c_T (e.g. from a decoder
    started from this state); ``dc`` (N, T, H): optional gradient on every step's c_t
    (from a depth-gated layer above).
    -> ``Gradients`` (dx, dh0, dWx, dWh, db) with attributes ``dc0`` and, for the
    options in use, ``dpeepholes`` (dict), ``dWp``, ``dlayer_norm`` (dict),
    ``ddepth_gate`` (dict) and ``dlower_c`` (N, T, H).

    Per step (``_step_backward``): dh_t = dh[t] + (dah_{t+1} Wh^T) * m, dc_t from step
    t+1 (m: the recurrent dropout mask, 1 without). After the loop, as GEMMs and sums
    over (T, N): dWh = sum_t (h_{t-1} * m)^T dah_t;  db = sum da;  dWx, dx from d(x Wx) (= da, or through
    LN_x);  dWp = sum_t m_t^T dh_t;  dp_i = sum da_i c_{t-1}, dp_f = sum da_f c_{t-1},
    dp_o = sum da_o c_t;  dgamma = sum d(LN output) * xhat.
    """
    opts, w = cache.opts, cache.w
    T, N, H = cache.tanh_c.shape
    P = cache.h.shape[2]
    out = "P" if opts.projection else "H"
    check = ShapeChecker(N=N, T=T, **{"H": H, out: P})
    check("dh", dh, "NT" + out)
    dh_tm = time_major(dh)  # (T, N, P); becomes the total gradient on each h_t
    dc_tm = None if dc is None else time_major(check("dc", dc, "NTH"))
    dh_next = final_state_gradient("dh_final", dh_final, N, P, dh.dtype)
    dc_next = final_state_gradient("dc_final", dc_final, N, H, dh.dtype)
    loops = lstm_fused  # its matmul for the general path's GEMMs
    if opts == PLAIN:
        loops = fused_loops(dh_tm, cache.gates, w["Wh"], dc_tm, cache.recurrent_mask)
        da, dh_next, dc_next = loops.backward_loop(dh_tm, cache.gates, cache.c, cache.tanh_c,
                                                   w["Wh"], dh_next, dc_next, dc_tm,
                                                   cache.recurrent_mask)
        grads = _Backward(da, da)
    else:
        grads, dh_next, dc_next = _backward_steps(cache, dh_tm, dh_next, dc_next, dc_tm)
    da = grads.da

    extra = {"dc0": dc_next}
    lead = (0, 1)
    dax = da
    if opts.layer_norm:
        dax = normalize_backward(da * w["gamma_x"], cache.xhat_x, cache.rstd_x)
        extra["dlayer_norm"] = {
            "gamma_x": (da * cache.xhat_x).sum(axis=lead),
            "gamma_h": (da * cache.xhat_h).sum(axis=lead),
            "gamma_c": (grads.dln_c * cache.xhat_c).sum(axis=lead),
            "beta_c": grads.dln_c.sum(axis=lead),
        }
    dx, dWx = input_gradients(dax, cache.x_tm, w["Wx"], matmul=loops.matmul)
    db = da.sum(axis=lead)
    dWh = recurrent_weight_gradient(dropped(cache.h[:-1], cache.recurrent_mask), grads.dah,
                                    matmul=loops.matmul)
    if opts.peephole_gates:
        extra["dpeepholes"] = {
            "p_" + name: (_block(da, opts, name) * (cache.c[1:] if name == "o" else cache.c[:-1])).sum(lead)
            for name in opts.peephole_gates
        }
    if opts.projection:
        m = _block(cache.gates, opts, "o") * cache.tanh_c  # (T, N, H)
        extra["dWp"] = recurrent_weight_gradient(m, dh_tm)
    if opts.depth_gate:
        ddx, dWxd = input_gradients(grads.ddepth, cache.x_tm, w["Wxd"])
        dx += ddx
        extra["ddepth_gate"] = {
            "Wxd": dWxd,
            "bd": grads.ddepth.sum(axis=lead),
            "w_c": (grads.ddepth * cache.c[:-1]).sum(axis=lead),
            "w_l": (grads.ddepth * cache.lower_c).sum(axis=lead),
        }
        extra["dlower_c"] = batch_first(grads.dlower_c)
    return Gradients((dx, dh_next, dWx, dWh, db), **extra)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b, *, peepholes=None, cifg=False, Wp=None,
                      cell_clip=None, gate_clip=None, layer_norm=None, depth_gate=None,
                      lower_c=None, activations=None):
    """One step: x (N, D), prev_h (N, P), prev_c (N, H) -> next_h (N, P), next_c (N, H),
    cache. Takes the options of ``lstm_forward``, with lower_c (N, H)."""
    opts, w = _options_and_weights(Wx, Wh, b, peepholes, cifg, Wp, cell_clip, gate_clip,
                                   layer_norm, depth_gate, lower_c, activations)
    _check(opts, x, prev_h, prev_c, w, "ND", ("prev_h", "prev_c"), lower_c)
    h, cache = _forward(opts, w, x[:, None], prev_h, prev_c,
                        None if lower_c is None else lower_c[:, None])
    return h[:, 0], cache.final_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """-> (dx, dprev_h, dprev_c, dWx, dWh, db) for one step, with the option gradients
    as attributes, as ``lstm_backward``."""
    N = cache.h.shape[1]
    grads = lstm_backward(
        array_module(dnext_h).zeros((N, 1, cache.h.shape[2]), dnext_h.dtype), cache,
        dh_final=dnext_h, dc_final=dnext_c,
    )
    dx, dprev_h, dWx, dWh, db = grads
    extra = {k: v for k, v in vars(grads).items() if k != "dc0"}
    if "dlower_c" in extra:
        extra["dlower_c"] = extra["dlower_c"][:, 0]
    return Gradients((dx[:, 0], dprev_h, grads.dc0, dWx, dWh, db), **extra)
