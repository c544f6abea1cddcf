"""One step of the plain LSTM over a block of rows, compiled by Numba (``rnnlab[fast]``):
the kernels that the loops of ``lstm_compiled`` and ``lstm_team`` run, and the float32 tanh.

The same chain rule as ``lstm_fused.py`` (its docstring has the equations); what changes is
how a step's element-wise work runs. NumPy spends a step in about ten ufunc passes over
memory, a Python dispatch each, and its float32 tanh is scalar on CPUs without AVX-512.
Here a step is ONE compiled pass over the step's rows, after the per-step GEMM:

    forward   a = x_t Wx + b + h_{t-1} Wh,  i, f, o = 0.5 + 0.5 tanh(a/2),  g = tanh(a_g)
              c_t = f c_{t-1} + i g,  u = tanh(c_t),  h_t = o u
    backward  dh = dh[t] + dh_next,  dc += dh o (1 - u^2) [+ dc[t]]
              da = [dc g i (1-i),  dc c_{t-1} f (1-f),  dh u o (1-o),  dc i (1-g^2)]
              dc *= f;  then dh_next = (da Wh^T) * m   (GEMM)

tanh: float64 calls libm's tanh (within 1e-15 of NumPy's). float32 uses a rational function
that the compiler vectorises (8 lanes with AVX2): for |x| <= 9,

    tanh(x) ~ x P(x^2) / Q(x^2),   P of degree 4, Q of degree 4 with Q(0) = 1,

fitted by ``tools/fit_tanh.py`` (relative error 2.1e-8 in exact arithmetic; evaluated in
float32 the largest error is 3.7e-7, against NumPy's 1e-7), clamped to +-1, and
+-1 beyond |x| = 9, where float32 tanh rounds to +-1 anyway. NaN stays NaN (the clamps
are written so that a NaN compares false and passes through).

Inference keeps nothing for a backward pass: a row's step is then one loop with the gate
values in registers (``_state_row``), about half the time of the passes that keep them.

``run_packed`` runs a packed oneDNN product from compiled code, through the addresses of
oneDNN's C functions (``native.py``); ``run_packing`` packs a product's weights there
(``onednn.PackedProduct.packed_later``).

Tests: tests/test_lstm_compiled.py (the loops on these kernels equal the NumPy loops; the
tanh's error bound).
"""
import math

import numpy as np
from numba import carray, njit
from numba.extending import overload

from .native import c_call2, c_call4, int64_pointer


# x P(x^2) / Q(x^2): coefficients of s^0 .. s^4, from tools/fit_tanh.py
TANH_P = (0.9999999794750409, 0.13381034790408305, 0.0034955989249094146,
          2.0609257282355135e-05, 1.3354898659168057e-08)
TANH_Q = (1.0, 0.46714350390044274, 0.025877023457245036, 0.0003285652358767103,
          7.776656508924618e-07)
TANH_LIMIT = 9.0
F32 = np.float32
P0, P1, P2, P3, P4 = (F32(p) for p in TANH_P)
Q1, Q2, Q3, Q4 = (F32(q) for q in TANH_Q[1:])
LIMIT, ONE, HALF = F32(TANH_LIMIT), F32(1.0), F32(0.5)
JIT = dict(nogil=True, cache=True, error_model="numpy",
           fastmath={"nsz", "arcp", "contract", "afn", "reassoc"})  # no "nnan": NaN must survive


def tanh(x):
    """tanh of one float: the rational float32 approximation above for float32 in
    compiled code, libm otherwise (this Python body is the libm case)."""
    return math.tanh(x)


@overload(tanh, jit_options=JIT)
def _tanh(x):
    if getattr(x, "bitwidth", 64) != 32:
        return lambda x: math.tanh(x)

    def rational(x):
        below = LIMIT if x > LIMIT else x  # a NaN compares false: it passes through
        inside = -LIMIT if below < -LIMIT else below
        s = inside * inside
        r = (inside * ((((P4 * s + P3) * s + P2) * s + P1) * s + P0)
             / ((((Q4 * s + Q3) * s + Q2) * s + Q1) * s + ONE))
        at_most_one = ONE if r > ONE else r
        return -ONE if at_most_one < -ONE else at_most_one

    return rational


@njit(**JIT)
def tanh_array(a):
    """tanh in place over a 1-D array (the kernel's tanh, for the tests)."""
    for k in range(a.size):
        a[k] = tanh(a[k])


@njit(**JIT)
def sigmoid(x):
    """sigmoid(x) = 0.5 + 0.5 tanh(x/2)."""
    return HALF + HALF * tanh(HALF * x)


@njit(**JIT)
def forward_step(a, b, ah, c_prev, c, tanh_c, h, mask, hm):
    """Rows of one forward step. a (n, 4H): x_t Wx -> the gate values i, f, o, g;
    b (4H,); ah (n, 4H): h_{t-1} Wh; c_prev, c, tanh_c, h (n, H) written: c_t,
    tanh(c_t), h_t; mask (n, H) or (0, 0): hm = h_t * mask, the next step's GEMM input.
    tanh_c (0, 0): nothing kept for a backward pass, a row's c_t and h_t come from one
    loop with the gate values in registers (``_state_row``), and a is left as it was.

    Each loop that keeps touches few arrays: with more, the compiler's run-time checks
    that the arrays do not overlap exceed its limit and the loop stays scalar (2-3x slower)."""
    n, G = a.shape
    H = G // 4
    for r in range(n):
        ar, ahr, cr, hr = a[r], ah[r], c[r], h[r]
        if tanh_c.shape[1] == 0:
            _state_row(ar, b, ahr, c_prev[r], cr, hr)
        else:
            for k in range(3 * H):
                ar[k] = sigmoid(ar[k] + b[k] + ahr[k])
            i, f, o, g = ar[:H], ar[H : 2 * H], ar[2 * H : 3 * H], ar[3 * H :]
            b_g, ah_g = b[3 * H :], ahr[3 * H :]
            for j in range(H):
                g[j] = tanh(g[j] + b_g[j] + ah_g[j])
            ur = tanh_c[r]
            _cell_update(f, c_prev[r], i, g, cr)
            for j in range(H):
                ur[j] = tanh(cr[j])
            product(o, ur, hr)
        if mask.shape[0]:
            product(hr, mask[r], hm[r])


@njit(inline="always", **JIT)
def _unit(a_i, a_f, a_o, a_g, c_prev):
    """-> (c_t, h_t) of one unit from its gate pre-activations and c_{t-1}:
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t). Inlined where it is called (as a call, the
    loops below stay scalar: 8x slower)."""
    c = sigmoid(a_f) * c_prev + sigmoid(a_i) * tanh(a_g)
    return c, sigmoid(a_o) * tanh(c)


@njit(**JIT)
def _state_row(a, b, ah, c_prev, c, h):
    """One row of a step that keeps nothing: c_t and h_t (``_unit``), the gates from
    a + b + ah (4H,) as in ``forward_step``. Six arrays, written two: few enough overlap
    checks for the loop to vectorise (measured here: 1.6 against 3.0 us for 16 rows of
    128 units)."""
    H = c.size
    for j in range(H):
        c[j], h[j] = _unit(a[j] + b[j] + ah[j], a[H + j] + b[H + j] + ah[H + j],
                           a[2 * H + j] + b[2 * H + j] + ah[2 * H + j],
                           a[3 * H + j] + b[3 * H + j] + ah[3 * H + j], c_prev[j])


@njit(**JIT)
def state_row(b, ah, c_prev, c, h):
    """``_state_row`` with the gates from b + ah, ah = [x_t, h_{t-1}] [Wx; Wh] (4H,): the
    step of an inference loop that projects its own inputs (``lstm_team``)."""
    H = c.size
    for j in range(H):
        c[j], h[j] = _unit(b[j] + ah[j], b[H + j] + ah[H + j], b[2 * H + j] + ah[2 * H + j],
                           b[3 * H + j] + ah[3 * H + j], c_prev[j])


@njit(**JIT)
def _cell_update(f, c_prev, i, g, c):
    """c = f c_prev + i g."""
    for j in range(c.size):
        c[j] = f[j] * c_prev[j] + i[j] * g[j]


@njit(**JIT)
def product(a, b, out):
    for j in range(out.size):
        out[j] = a[j] * b[j]


@njit(**JIT)
def backward_step(gates, c_prev, tanh_c, dh, dh_next, dc, dc_t, da):
    """Rows of one backward step (the module docstring's equations). gates (n, 4H)
    i, f, o, g; c_prev, tanh_c (n, H); dh (n, H) the upstream gradient, overwritten with
    the total dh_t; dh_next (n, H) the gradient from step t+1 (mask applied); dc (n, H)
    dc_{t+1} f_{t+1} in, dc_t f_t out; dc_t (n, H) or (0, 0): extra gradient on c_t;
    da (n, 4H) written. Few arrays a loop, as in the forward."""
    n, G = gates.shape
    H = G // 4
    for r in range(n):
        gr, dar = gates[r], da[r]
        i, f, o, g = gr[:H], gr[H : 2 * H], gr[2 * H : 3 * H], gr[3 * H :]
        da_i, da_f, da_o, da_g = dar[:H], dar[H : 2 * H], dar[2 * H : 3 * H], dar[3 * H :]
        u, dhr, dcr, cpr = tanh_c[r], dh[r], dc[r], c_prev[r]
        _accumulate(dhr, dh_next[r])  # dh_t = dh[t] + dh_next
        for j in range(H):  # dc_t = dc_{t+1} f_{t+1} + dh_t o (1 - u^2)
            dcr[j] += dhr[j] * o[j] * (ONE - u[j] * u[j])
        if dc_t.shape[0]:
            _accumulate(dcr, dc_t[r])
        for j in range(H):
            da_i[j] = dcr[j] * g[j] * i[j] * (ONE - i[j])
        for j in range(H):
            da_f[j] = dcr[j] * cpr[j] * f[j] * (ONE - f[j])
        for j in range(H):
            da_o[j] = dhr[j] * u[j] * o[j] * (ONE - o[j])
        for j in range(H):
            da_g[j] = dcr[j] * i[j] * (ONE - g[j] * g[j])
        for j in range(H):
            dcr[j] *= f[j]


@njit(**JIT)
def _accumulate(a, b):
    """a += b."""
    for j in range(a.size):
        a[j] += b[j]


@njit(**JIT)
def run_packed(call, v):
    """out = v W by a packed product from its ``call_table`` (out bound there), v's data at
    the address ``v`` -> the status: set v's data handle, then execute."""
    status = c_call2(call[0], call[5], v)
    if status:
        return status
    return c_call4(call[1], call[2], call[3], call[6], call[4])


@njit(**JIT)
def run_packing(address):
    """Pack a product's weights by its ``packing`` table at ``address`` (execute address,
    stream, n, then n (primitive, args) copies of two arguments each) -> the status of
    the first copy that failed, else 0."""
    n = carray(int64_pointer(address), 3)[2]
    table = carray(int64_pointer(address), 3 + 2 * n)
    for k in range(n):
        status = c_call4(table[0], table[3 + 2 * k], table[1], 2, table[4 + 2 * k])
        if status:
            return status
    return 0


@njit(**JIT)
def multiply_in_place(a, m):
    """a *= m."""
    for j in range(a.size):
        a[j] *= m[j]


def no_rows(like):
    """An empty (0, 0) array: no mask, nothing kept, no extra gradient."""
    return np.empty((0, 0), dtype=like.dtype)
