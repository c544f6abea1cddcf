"""The plain LSTM's time loops with each step's gate math compiled by Numba (``rnnlab[fast]``).

The same loops, buffers and chain rule as ``lstm_fused.py`` (its docstring has the
equations); what changes is how a step's element-wise work runs. NumPy spends a step
in about ten ufunc passes over memory, a Python dispatch each, and its float32 tanh is
scalar on CPUs without AVX-512. Here a step is the per-step GEMM (on weights packed
once per loop by oneDNN on the "onednn" path, ``onednn.py``; NumPy's BLAS otherwise),
then ONE compiled pass over the step's rows:

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

On the onednn path a loop whose product is packed runs whole in compiled code:
``run_packed`` calls oneDNN's C functions through their addresses (``native.py``), so no
Python runs between steps, and each step's pass runs on oneDNN's own OpenMP threads, each
its share of the rows (``_forward_rows``, ``_backward_rows`` through libgomp's
``GOMP_parallel``).

Tests: tests/test_lstm_compiled.py (equal to the NumPy loops, float64 to 1e-12,
float32 to 1e-6 / 1e-5, on both compiled paths; the tanh's error bound);
tests/conftest.py runs the LSTM, mask, layer, model and cross-check tests on every path
(on "onednn" with every float32 product packed).
"""
import math

import numpy as np
from numba import carray, cfunc, njit, types
from numba.extending import overload

from . import onednn
from .backend import packed_products_serve
from .native import c_call0, c_call2, c_call4, float32_pointer, int64_pointer


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
def _forward_step(a, b, ah, c_prev, c, tanh_c, h, mask, hm):
    """Rows of one forward step. a (n, 4H): x_t Wx -> the gate values i, f, o, g;
    b (4H,); ah (n, 4H): h_{t-1} Wh; c_prev, c, tanh_c, h (n, H) written: c_t,
    tanh(c_t), h_t; mask (n, H) or (0, 0): hm = h_t * mask, the next step's GEMM input.

    Each loop touches few arrays: with more, the compiler's run-time checks that the
    arrays do not overlap exceed its limit and the loop stays scalar (2-3x slower)."""
    n, G = a.shape
    H = G // 4
    for r in range(n):
        ar, ahr = a[r], ah[r]
        for k in range(3 * H):  # sigmoid(a) = 0.5 + 0.5 tanh(a/2)
            ar[k] = HALF + HALF * tanh(HALF * (ar[k] + b[k] + ahr[k]))
        i, f, o, g = ar[:H], ar[H : 2 * H], ar[2 * H : 3 * H], ar[3 * H :]
        b_g, ah_g = b[3 * H :], ahr[3 * H :]
        for j in range(H):
            g[j] = tanh(g[j] + b_g[j] + ah_g[j])
        cr, ur, hr = c[r], tanh_c[r], h[r]
        _cell_update(f, c_prev[r], i, g, cr)
        for j in range(H):
            ur[j] = tanh(cr[j])
        _product(o, ur, hr)
        if mask.shape[0]:
            _product(hr, mask[r], hm[r])


@njit(**JIT)
def _cell_update(f, c_prev, i, g, c):
    """c = f c_prev + i g."""
    for j in range(c.size):
        c[j] = f[j] * c_prev[j] + i[j] * g[j]


@njit(**JIT)
def _product(a, b, out):
    for j in range(out.size):
        out[j] = a[j] * b[j]


@njit(**JIT)
def _backward_step(gates, c_prev, tanh_c, dh, dh_next, dc, dc_t, da):
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
    """out = v W by a packed product from its ``call_table`` (out bound there) -> the
    status: set v's data handle, then execute."""
    status = c_call2(call[0], call[5], np.int64(v.ctypes.data))
    if status:
        return status
    return c_call4(call[1], call[2], call[3], np.int64(3), call[4])


# A step's pass split over oneDNN's OpenMP threads: the loop fills a block of int64 (the
# step's array addresses, sizes, flags, the team's functions), libgomp's GOMP_parallel runs
# a ``*_rows`` cfunc on every thread of the team with it, and each thread takes its share of
# the rows (measured here: the forward loop 11-18% faster, bit for bit the same numbers).
N_ROWS, COLUMNS, HAS_EXTRA, THREAD_NUM, NUM_THREADS = 9, 10, 11, 12, 13  # the block's fields
BLOCK = 14  # fields 0-8: array addresses, each step's own where the step changes them
ROWS_SIGNATURE = types.void(types.voidptr)
CFUNC = dict(cache=True, error_model="numpy", fastmath=JIT["fastmath"])


@njit(**JIT)
def _share(block):
    """-> (first row, end row) of this thread's share of the block's rows."""
    thread, threads, rows = c_call0(block[THREAD_NUM]), c_call0(block[NUM_THREADS]), block[N_ROWS]
    return thread * rows // threads, (thread + 1) * rows // threads


@njit(**JIT)
def _view(block, field, columns):
    """The (rows, columns) float32 array at the block's address ``field``."""
    return carray(float32_pointer(block[field]), (block[N_ROWS], columns))


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _forward_rows(data):
    """This thread's rows of ``_forward_step``: block fields a, b, ah, c_prev, c, tanh_c,
    h, mask, hm; HAS_EXTRA: a mask."""
    block = carray(int64_pointer(data), BLOCK)
    G = block[COLUMNS]
    H = G // 4
    start, end = _share(block)
    b = carray(float32_pointer(block[1]), (G,))
    rows = slice(start, end)
    mask = _view(block, 7, H)[rows] if block[HAS_EXTRA] else np.empty((0, 0), np.float32)
    hm = _view(block, 8, H)[rows] if block[HAS_EXTRA] else mask
    _forward_step(_view(block, 0, G)[rows], b, _view(block, 2, G)[rows], _view(block, 3, H)[rows],
                  _view(block, 4, H)[rows], _view(block, 5, H)[rows], _view(block, 6, H)[rows],
                  mask, hm)


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _backward_rows(data):
    """This thread's rows of ``_backward_step``: block fields gates, c_prev, tanh_c, dh
    (upstream), dh_next, dc, dc_t, da; HAS_EXTRA: a dc_t."""
    block = carray(int64_pointer(data), BLOCK)
    G = block[COLUMNS]
    H = G // 4
    start, end = _share(block)
    rows = slice(start, end)
    dc_t = _view(block, 6, H)[rows] if block[HAS_EXTRA] else np.empty((0, 0), np.float32)
    _backward_step(_view(block, 0, G)[rows], _view(block, 1, H)[rows], _view(block, 2, H)[rows],
                   _view(block, 3, H)[rows], _view(block, 4, H)[rows], _view(block, 5, H)[rows],
                   dc_t, _view(block, 7, G)[rows])


@njit(**JIT)
def _block(team, rows, columns, has_extra):
    """A step block with its fixed fields set."""
    block = np.zeros(BLOCK, np.int64)
    block[N_ROWS], block[COLUMNS], block[HAS_EXTRA] = rows, columns, has_extra
    block[THREAD_NUM], block[NUM_THREADS] = team[1], team[2]
    return block


@njit(**JIT)
def _on_team(team, block):
    """GOMP_parallel(the team's rows function, block, all threads, no flags)."""
    c_call4(team[0], team[3], np.int64(block.ctypes.data), np.int64(0), np.int64(0))


@njit(**JIT)
def _forward_packed(gates, b, c, tanh_c, h, ah, mask, hm, call, team):
    """The forward loop with each step's product run by ``run_packed`` -> a status; each
    step's pass on oneDNN's threads (``team``: ``onednn.team()`` and the address of
    ``_forward_rows``; empty: on this thread)."""
    N, G = ah.shape
    block = _block(team, N, G, mask.shape[0] > 0) if team.size else np.empty(0, np.int64)
    if team.size:
        block[1], block[2], block[7], block[8] = b.ctypes.data, ah.ctypes.data, mask.ctypes.data, hm.ctypes.data
    for t in range(gates.shape[0]):
        status = run_packed(call, h[t] if mask.shape[0] == 0 else hm)
        if status:
            return status
        if team.size:
            block[0], block[3], block[4] = gates[t].ctypes.data, c[t].ctypes.data, c[t + 1].ctypes.data
            block[5], block[6] = tanh_c[t].ctypes.data, h[t + 1].ctypes.data
            _on_team(team, block)
        else:
            _forward_step(gates[t], b, ah, c[t], c[t + 1], tanh_c[t], h[t + 1], mask, hm)
    return 0


@njit(**JIT)
def _backward_packed(gates, c, tanh_c, dh_tm, dh, dc, dc_tm, da, mask, call, team):
    """The backward loop with each step's product (da_t Wh^T -> dh) run by
    ``run_packed`` -> a status; each step's pass on oneDNN's threads as in
    ``_forward_packed`` (``team`` ending with ``_backward_rows``). dc_tm (T, 0, 0) when
    there is none."""
    N, G = da.shape[1], da.shape[2]
    has_dc = dc_tm.shape[1] > 0
    block = _block(team, N, G, has_dc) if team.size else np.empty(0, np.int64)
    if team.size:
        block[4], block[5] = dh.ctypes.data, dc.ctypes.data
    for t in range(gates.shape[0] - 1, -1, -1):
        if team.size:
            block[0], block[1], block[2] = gates[t].ctypes.data, c[t].ctypes.data, tanh_c[t].ctypes.data
            block[3], block[7] = dh_tm[t].ctypes.data, da[t].ctypes.data
            block[6] = dc_tm[t].ctypes.data if has_dc else 0
            _on_team(team, block)
        else:
            _backward_step(gates[t], c[t], tanh_c[t], dh_tm[t], dh, dc, dc_tm[t], da[t])
        status = run_packed(call, da[t])
        if status:
            return status
        if mask.shape[0]:
            for r in range(dh.shape[0]):
                _multiply_in_place(dh[r], mask[r])
    return 0


@njit(**JIT)
def _multiply_in_place(a, m):
    """a *= m."""
    for j in range(a.size):
        a[j] *= m[j]


def _checked(status):
    if status:
        raise onednn.OneDNNError(f"oneDNN: primitive_execute failed with status {status}")


def _no_rows(like):
    return np.empty((0, 0), dtype=like.dtype)


def _team(rows_function, N):
    """-> what the packed loops need to split a step's N rows over oneDNN's OpenMP threads
    with ``rows_function``; empty (the pass on this thread) for one row or where the
    runtime is not found."""
    functions = onednn.team()
    if functions is None or N < 2:
        return np.empty(0, np.int64)
    return np.append(functions, np.int64(rows_function.address))


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
    """``lstm_fused.forward_steps``, compiled: -> run(gates, b, c, tanh_c, h)."""
    ah = np.empty((N, Wh.shape[1]), dtype=Wh.dtype)  # h_{t-1} Wh
    times_Wh = step_product(Wh, N)
    mask = _no_rows(ah) if recurrent_mask is None else recurrent_mask
    hm = np.empty((N, Wh.shape[0]), Wh.dtype) if recurrent_mask is not None else mask  # h_{t-1} * m
    packed = isinstance(times_Wh, onednn.PackedProduct)  # then the whole loop in compiled code
    call = times_Wh.call_table(ah) if packed else None
    team = _team(_forward_rows, N) if packed else None

    def run(gates, b, c, tanh_c, h):
        if recurrent_mask is not None:
            np.multiply(h[0], mask, out=hm)
        if packed:
            with onednn.lock:
                return _checked(_forward_packed(gates, b, c, tanh_c, h, ah, mask, hm, call, team))
        for t in range(gates.shape[0]):
            times_Wh(h[t] if recurrent_mask is None else hm, ah)
            _forward_step(gates[t], b, ah, c[t], c[t + 1], tanh_c[t], h[t + 1], mask, hm)

    return run


def backward_loop(dh_tm, gates, c, tanh_c, Wh, dh_next, dc_next, dc_tm=None,
                  recurrent_mask=None):
    """``lstm_fused.backward_loop``, compiled: same arguments -> da, dh_0, dc_0."""
    da = np.empty_like(gates)
    dh = np.array(dh_next, order="C")  # dh_{t+1} of each step, in the end dh_0
    dc = np.ascontiguousarray(dc_next)  # overwritten, as the NumPy loop's
    no_rows = _no_rows(gates)
    times_WhT = step_product(Wh.T, dh.shape[0])  # BLAS and oneDNN read the transposed view
    if isinstance(times_WhT, onednn.PackedProduct):  # the whole loop in compiled code
        no_dc = np.empty((gates.shape[0], 0, 0), dc.dtype)
        with onednn.lock:
            _checked(_backward_packed(gates, c, tanh_c, dh_tm, dh, dc,
                                      no_dc if dc_tm is None else dc_tm, da,
                                      no_rows if recurrent_mask is None else recurrent_mask,
                                      times_WhT.call_table(dh), _team(_backward_rows, dh.shape[0])))
        return da, dh, dc
    for t in reversed(range(gates.shape[0])):
        _backward_step(gates[t], c[t], tanh_c[t], dh_tm[t], dh, dc,
                       no_rows if dc_tm is None else dc_tm[t], da[t])
        times_WhT(da[t], dh)
        if recurrent_mask is not None:
            dh *= recurrent_mask
    return da, dh, dc


def stepper(Wx, Wh, b, N):
    """``lstm.lstm_stepper`` for the plain cell, compiled: -> step(x (N, D), h (N, H),
    c (N, H)) -> (next_h, next_c), on buffers allocated here once."""
    G = Wx.shape[1]
    gates, ah = np.empty((N, G), dtype=Wx.dtype), np.empty((N, G), dtype=Wx.dtype)
    c_next, tanh_c, h_next = (np.empty((N, G // 4), dtype=Wx.dtype) for _ in range(3))
    no_rows = _no_rows(gates)
    times_Wx, times_Wh = step_product(Wx, N), step_product(Wh, N)

    def step(x, h, c):
        times_Wx(x, gates)
        times_Wh(h, ah)
        _forward_step(gates, b, ah, np.asarray(c, dtype=Wx.dtype), c_next, tanh_c, h_next,
                      no_rows, no_rows)
        return h_next.copy(), c_next.copy()

    return step
