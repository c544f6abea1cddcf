"""The plain LSTM's time loops compiled by Numba (``rnnlab[fast]``): the same loops,
buffers and results as ``lstm_fused.py``, each step one compiled pass over its rows
(``lstm_steps``) after the per-step GEMM. Which loop runs:

- the onednn path (float32, oneDNN's wheel): the per-step product on weights packed once
  per loop, the whole loop in compiled code on oneDNN's threads (``lstm_team``);
  inference there projects its inputs inside the loop (``inference``);
- otherwise (float64, or the numba path): NumPy's matmul each step, the pass compiled.

Tests: tests/test_lstm_compiled.py (equal to the NumPy loops, float64 to 1e-12,
float32 to 1e-6 / 1e-5, on both compiled paths); tests/conftest.py runs the LSTM, mask,
layer, model and cross-check tests on every path (on "onednn" with every float32 product
packed).
"""
import numpy as np

from . import onednn
from .backend import packed_products_serve
from .lstm_steps import backward_step, forward_step, no_rows
from .lstm_team import (BACKWARD, BIAS, CELL_GRADIENT, CELL_GRADIENTS, CELLS, FORWARD,
                        GATE_GRADIENTS, GATES, GRADIENT, HIDDEN, INFERENCE, INPUTS, MASK, MASKED,
                        OUTPUTS, PRODUCT, STEP_INPUTS, TANH_C, UPSTREAM, RowSplit, UnitSplit,
                        backward_packed, checked, forward_packed, step_team)


def matmul(a, b):
    """a @ b, the GEMMs around the loops: oneDNN's sgemm where the onednn path serves them
    (one thread pool for the whole layer), NumPy's otherwise."""
    return onednn.matmul(a, b) if packed_products_serve(a, b) else a @ b


def step_product(W, N):
    """-> product(v (N, K), out (N, J)) -> out = v W, the per-step GEMM of a loop: W
    packed once by oneDNN where the onednn path serves it (float32) and the product is
    large enough to gain, NumPy's matmul otherwise."""
    if (packed_products_serve(W) and N * W.size >= onednn.SMALLEST_PRODUCT
            and onednn.element_strides(W) is not None):
        return onednn.PackedProduct(W, N)
    return lambda v, out: np.matmul(v, W, out=out)


def forward_loop(gates, b, c, tanh_c, h, Wh, recurrent_mask=None):
    """``lstm_fused.forward_loop``, compiled: same arguments, same buffers filled."""
    forward_steps(Wh, gates.shape[1], recurrent_mask)(gates, b, c, tanh_c, h)


def forward_steps(Wh, N, recurrent_mask=None):
    """``lstm_fused.forward_steps``, compiled: -> run(gates, b, c, tanh_c, h); with tanh_c
    (T, 0, 0) the gates are left as they were (``forward_step``)."""
    ah = np.empty((N, Wh.shape[1]), dtype=Wh.dtype)  # h_{t-1} Wh
    split = RowSplit.make(Wh, N, ah)  # then the loop split by rows
    times_Wh = step_product(Wh, N) if split is None else None
    mask = no_rows(ah) if recurrent_mask is None else np.ascontiguousarray(recurrent_mask)
    hm = np.empty((N, Wh.shape[0]), Wh.dtype) if recurrent_mask is not None else mask  # h_{t-1} * m
    packed = isinstance(times_Wh, onednn.PackedProduct)  # then the whole loop in compiled code
    call = times_Wh.call_table(ah) if packed else None
    team = step_team(N) if packed else None

    def run(gates, b, c, tanh_c, h):
        if recurrent_mask is not None:
            np.multiply(h[0], mask, out=hm)
        if split is not None:
            return split.run(FORWARD, gates.shape[0], N, gates.shape[2], {
                GATES: gates, BIAS: np.ascontiguousarray(b), CELLS: c, TANH_C: tanh_c, HIDDEN: h,
                PRODUCT: ah, MASK: mask, MASKED: hm})
        if packed:
            with onednn.lock:
                return checked(forward_packed(gates, b, c, tanh_c, h, ah, mask, hm, call, team))
        for t in range(gates.shape[0]):
            times_Wh(h[t] if recurrent_mask is None else hm, ah)
            forward_step(gates[t], b, ah, c[t], c[t + 1], tanh_c[t], h[t + 1], mask, hm)

    return run


def backward_loop(dh_tm, gates, c, tanh_c, Wh, dh_next, dc_next, dc_tm=None,
                  recurrent_mask=None):
    """``lstm_fused.backward_loop``, compiled: same arguments -> da, dh_0, dc_0."""
    da = np.empty_like(gates)
    dh = np.array(dh_next, order="C")  # dh_{t+1} of each step, in the end dh_0
    dc = np.ascontiguousarray(dc_next)  # overwritten, as the NumPy loop's
    none = no_rows(gates)
    mask = none if recurrent_mask is None else np.ascontiguousarray(recurrent_mask)
    split = RowSplit.make(Wh.T, dh.shape[0], dh)  # BLAS and oneDNN read the transposed view
    if split is not None:
        split.run(BACKWARD, gates.shape[0], dh.shape[0], gates.shape[2], {
            GATES: gates, CELLS: c, TANH_C: tanh_c, UPSTREAM: dh_tm, GRADIENT: dh, CELL_GRADIENT: dc,
            CELL_GRADIENTS: dc_tm, GATE_GRADIENTS: da, MASK: mask})
        return da, dh, dc
    times_WhT = step_product(Wh.T, dh.shape[0])
    if isinstance(times_WhT, onednn.PackedProduct):  # the whole loop in compiled code
        no_dc = np.empty((gates.shape[0], 0, 0), dc.dtype)
        with onednn.lock:
            checked(backward_packed(gates, c, tanh_c, dh_tm, dh, dc, no_dc if dc_tm is None else dc_tm,
                                    da, mask, times_WhT.call_table(dh),
                                    step_team(dh.shape[0], BACKWARD)))
        return da, dh, dc
    for t in reversed(range(gates.shape[0])):
        backward_step(gates[t], c[t], tanh_c[t], dh_tm[t], dh, dc,
                      none if dc_tm is None else dc_tm[t], da[t])
        times_WhT(da[t], dh)
        if recurrent_mask is not None:
            dh *= recurrent_mask
    return da, dh, dc


def inference(x, h0, c0, Wx, Wh, b):
    """``lstm.lstm_inference`` of the plain cell in one loop that projects its own inputs,
    each step's product [x_t, h_{t-1}] [Wx; Wh] (``lstm_team``, the onednn path), split by
    rows where the weights are small for the rows (``RowSplit.for_inference``), else by units
    (``UnitSplit``). x (N, T, D), h0 (N, H), c0 (N, H) or None -> (y (N, T, H),
    (h_T, c_T)); None where neither split serves."""
    (N, T, D), (H, G) = x.shape, Wh.shape
    if not packed_products_serve(x, Wx, Wh):
        return None
    x = np.ascontiguousarray(x)
    ah = np.empty((N, G), np.float32)  # [x_t, h_{t-1}] [Wx; Wh] = x_t Wx + h_{t-1} Wh
    rows = RowSplit.for_inference(Wx, Wh, N, ah)
    units = UnitSplit.make(Wx, Wh, b, N) if rows is None else None
    if rows is None and units is None:
        return None
    v = np.empty((2, N, D + H), np.float32)  # [x_t, h_{t-1}], then [x_{t+1}, h_t]
    v[0, :, :D], v[0, :, D:] = x[:, 0] if T else 0, h0
    y = np.empty((N, T, H), np.float32)
    if units is not None:
        c_T = units.run(x, v, c0, y)
        return None if c_T is None else (y, (v[T % 2, :, D:].copy(), c_T))
    c = np.zeros((2, N, H), np.float32)  # c_{t-1}, c_t
    if c0 is not None:
        c[0] = c0
    rows.run(INFERENCE, T, N, G, {INPUTS: x, OUTPUTS: y, STEP_INPUTS: v, PRODUCT: ah, CELLS: c,
                                  BIAS: np.ascontiguousarray(b)}, D)
    return y, (v[T % 2, :, D:].copy(), c[T % 2].copy())


def stepper(Wx, Wh, b, N):
    """``lstm.lstm_stepper`` for the plain cell, compiled: -> step(x (N, D), h (N, H),
    c (N, H)) -> (next_h, next_c), on buffers allocated here once."""
    G = Wx.shape[1]
    gates, ah = np.empty((N, G), dtype=Wx.dtype), np.empty((N, G), dtype=Wx.dtype)
    c_next, h_next = (np.empty((N, G // 4), dtype=Wx.dtype) for _ in range(2))
    none = no_rows(gates)
    times_Wx, times_Wh = step_product(Wx, N), step_product(Wh, N)

    def step(x, h, c):
        times_Wx(x, gates)
        times_Wh(h, ah)
        forward_step(gates, b, ah, np.asarray(c, dtype=Wx.dtype), c_next, none, h_next, none,
                     none)
        return h_next.copy(), c_next.copy()

    return step
