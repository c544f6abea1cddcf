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

Inference keeps nothing for a backward pass: a row's step is then one loop with the gate
values in registers (``_state_row``), about half the time of the passes that keep them.

On the onednn path a loop whose product is packed runs whole in compiled code:
``run_packed`` calls oneDNN's C functions through their addresses (``native.py``), so no
Python runs between steps, on oneDNN's own OpenMP threads (libgomp's ``GOMP_parallel``),
split by rows one of two ways. Where the weights fit a core's cache (ROWS_SPLIT_BYTES), each
thread runs the whole loop on its rows with a product of its own (``RowSplit``,
``_forward_parts``, ``_backward_parts``): nothing to wait for between steps. Otherwise each
step's product runs on all threads, then the step's pass, each thread its rows
(``_forward_rows``, ``_backward_rows``).

Tests: tests/test_lstm_compiled.py (equal to the NumPy loops, float64 to 1e-12,
float32 to 1e-6 / 1e-5, on both compiled paths; either split bit for bit what one thread
gives; the tanh's error bound);
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
def _sigmoid(x):
    """sigmoid(x) = 0.5 + 0.5 tanh(x/2)."""
    return HALF + HALF * tanh(HALF * x)


@njit(**JIT)
def _forward_step(a, b, ah, c_prev, c, tanh_c, h, mask, hm):
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
                ar[k] = _sigmoid(ar[k] + b[k] + ahr[k])
            i, f, o, g = ar[:H], ar[H : 2 * H], ar[2 * H : 3 * H], ar[3 * H :]
            b_g, ah_g = b[3 * H :], ahr[3 * H :]
            for j in range(H):
                g[j] = tanh(g[j] + b_g[j] + ah_g[j])
            ur = tanh_c[r]
            _cell_update(f, c_prev[r], i, g, cr)
            for j in range(H):
                ur[j] = tanh(cr[j])
            _product(o, ur, hr)
        if mask.shape[0]:
            _product(hr, mask[r], hm[r])


@njit(**JIT)
def _state_row(a, b, ah, c_prev, c, h):
    """One row of a step that keeps nothing: c_t = f c_{t-1} + i g, h_t = o tanh(c_t),
    the gates from a + b + ah (4H,) as in ``_forward_step``. Six arrays, written two: few
    enough overlap checks for the loop to vectorise (measured here: 1.6 against 3.0 us
    for 16 rows of 128 units)."""
    H = c.size
    for j in range(H):
        i = _sigmoid(a[j] + b[j] + ah[j])
        f = _sigmoid(a[H + j] + b[H + j] + ah[H + j])
        o = _sigmoid(a[2 * H + j] + b[2 * H + j] + ah[2 * H + j])
        g = tanh(a[3 * H + j] + b[3 * H + j] + ah[3 * H + j])
        c[j] = f * c_prev[j] + i * g
        h[j] = o * tanh(c[j])


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
    """out = v W by a packed product from its ``call_table`` (out bound there), v's data at
    the address ``v`` -> the status: set v's data handle, then execute."""
    status = c_call2(call[0], call[5], v)
    if status:
        return status
    return c_call4(call[1], call[2], call[3], call[6], call[4])


# A step's pass split over oneDNN's OpenMP threads: the loop fills a block of int64 (the
# step's array addresses, sizes, flags, the team's functions), libgomp's GOMP_parallel runs
# a ``*_rows`` cfunc on every thread of the team with it, and each thread takes its share of
# the rows (measured here: the forward loop 11-18% faster, bit for bit the same numbers).
N_ROWS, COLUMNS, HAS_EXTRA, THREAD_NUM, NUM_THREADS = 9, 10, 11, 12, 13  # the block's fields
BLOCK = 14  # fields 0-8: array addresses, each step's own where the step changes them
ROWS_FUNCTION = onednn.MAX_THREADS + 1  # the team's field after ``onednn.team()``'s
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
    """This thread's rows of ``_forward_step``: block fields a, b, ah, c_prev, c, tanh_c
    (0: none kept), h, mask, hm; HAS_EXTRA: a mask."""
    block = carray(int64_pointer(data), BLOCK)
    G = block[COLUMNS]
    H = G // 4
    start, end = _share(block)
    b = carray(float32_pointer(block[1]), (G,))
    rows = slice(start, end)
    mask = _view(block, 7, H)[rows] if block[HAS_EXTRA] else np.empty((0, 0), np.float32)
    hm = _view(block, 8, H)[rows] if block[HAS_EXTRA] else mask
    tanh_c = _view(block, 5, H)[rows] if block[5] else np.empty((0, 0), np.float32)
    _forward_step(_view(block, 0, G)[rows], b, _view(block, 2, G)[rows], _view(block, 3, H)[rows],
                  _view(block, 4, H)[rows], tanh_c, _view(block, 6, H)[rows], mask, hm)


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
    block[THREAD_NUM], block[NUM_THREADS] = team[onednn.THREAD_NUM], team[onednn.NUM_THREADS]
    return block


@njit(**JIT)
def _on_team(team, block):
    """GOMP_parallel(the team's rows function, block, all threads, no flags)."""
    c_call4(team[onednn.PARALLEL], team[ROWS_FUNCTION], np.int64(block.ctypes.data), np.int64(0),
            np.int64(0))


@njit(**JIT)
def _forward_packed(gates, b, c, tanh_c, h, ah, mask, hm, call, team):
    """The forward loop with each step's product run by ``run_packed`` -> a status; each
    step's pass on oneDNN's threads (``team``: ``onednn.team()`` and the address of
    ``_forward_rows``; empty: on this thread). tanh_c (T, 0, 0): nothing kept."""
    N, G = ah.shape
    block = _block(team, N, G, mask.shape[0] > 0) if team.size else np.empty(0, np.int64)
    if team.size:
        block[1], block[2], block[7], block[8] = b.ctypes.data, ah.ctypes.data, mask.ctypes.data, hm.ctypes.data
    for t in range(gates.shape[0]):
        status = run_packed(call, (h[t] if mask.shape[0] == 0 else hm).ctypes.data)
        if status:
            return status
        if team.size:
            block[0], block[3], block[4] = gates[t].ctypes.data, c[t].ctypes.data, c[t + 1].ctypes.data
            block[5] = tanh_c[t].ctypes.data if tanh_c.shape[1] else 0
            block[6] = h[t + 1].ctypes.data
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
        status = run_packed(call, da[t].ctypes.data)
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


# A loop split by rows: each row of the batch runs its own recurrence, so each thread of
# oneDNN's team runs the whole loop on its share of the rows (its "part"), with a product of
# its own (W packed for its row count, scratch memory and stream its own) and nothing to
# wait for between steps: one parallel region a loop, where the per-step split above has two
# a step (the product's and the pass's). Every thread reads all of W at every step, so this
# serves weights that fit a core's cache (ROWS_SPLIT_BYTES; measured here against the
# per-step split: the forward loop 1.12x at (32,100,64,128), 1.04x at (64,100,128,256);
# inference 0.94x at (64,100,256,512), a prototype 0.36x at (16,50,1024,1024)).
ROWS_SPLIT_BYTES = 1 << 20
# a loop's block: the team's functions, sizes, then the addresses of whole (T, N, .) arrays
(LOOP_THREAD_NUM, LOOP_NUM_THREADS, STEPS, LOOP_ROWS, LOOP_COLUMNS, PARTS, N_PARTS,
 GATES, BIAS, CELLS, TANH_C, HIDDEN, PRODUCT, MASK, MASKED, UPSTREAM, GRADIENT, CELL_GRADIENT,
 CELL_GRADIENTS, GATE_GRADIENTS) = range(20)
LOOP = 20
FIRST_ROW, END_ROW, PART_STATUS = 7, 8, 9  # a part's fields after its product's call table
PART = 10
FLOAT32_BYTES = 4


@njit(**JIT)
def _rows_of(loop, field, t, part, columns):
    """Step t's rows of this part of the (T, N, columns) float32 array at the loop's
    address ``field`` (0: none, an empty array)."""
    first, end = part[FIRST_ROW], part[END_ROW]
    if loop[field] == 0:
        return np.empty((0, 0), np.float32)
    start = loop[field] + FLOAT32_BYTES * (t * loop[LOOP_ROWS] + first) * columns
    return carray(float32_pointer(start), (end - first, columns))


@njit(**JIT)
def _forward_part(loop, part):
    """This part's rows through every step of ``_forward_packed``'s loop -> a status. The
    loop's fields: gates, b, c, tanh_c (0: none kept), h, ah (N, 4H), mask, hm (N, H; 0:
    no mask)."""
    G = loop[LOOP_COLUMNS]
    H = G // 4
    b = carray(float32_pointer(loop[BIAS]), (G,))
    ah = _rows_of(loop, PRODUCT, 0, part, G)
    mask, hm = _rows_of(loop, MASK, 0, part, H), _rows_of(loop, MASKED, 0, part, H)
    for t in range(loop[STEPS]):
        v = hm if loop[MASK] else _rows_of(loop, HIDDEN, t, part, H)
        status = run_packed(part, v.ctypes.data)
        if status:
            return status
        _forward_step(_rows_of(loop, GATES, t, part, G), b, ah, _rows_of(loop, CELLS, t, part, H),
                      _rows_of(loop, CELLS, t + 1, part, H), _rows_of(loop, TANH_C, t, part, H),
                      _rows_of(loop, HIDDEN, t + 1, part, H), mask, hm)
    return 0


@njit(**JIT)
def _backward_part(loop, part):
    """This part's rows through every step of ``_backward_packed``'s loop -> a status. The
    loop's fields: gates, c, tanh_c, dh_tm (UPSTREAM), dh (N, H), dc (N, H), dc_tm (0:
    none), da, mask (0: none)."""
    G = loop[LOOP_COLUMNS]
    H = G // 4
    dh, dc = _rows_of(loop, GRADIENT, 0, part, H), _rows_of(loop, CELL_GRADIENT, 0, part, H)
    mask = _rows_of(loop, MASK, 0, part, H)
    for t in range(loop[STEPS] - 1, -1, -1):
        da = _rows_of(loop, GATE_GRADIENTS, t, part, G)
        _backward_step(_rows_of(loop, GATES, t, part, G), _rows_of(loop, CELLS, t, part, H),
                       _rows_of(loop, TANH_C, t, part, H), _rows_of(loop, UPSTREAM, t, part, H), dh, dc,
                       _rows_of(loop, CELL_GRADIENTS, t, part, H), da)
        status = run_packed(part, da.ctypes.data)
        if status:
            return status
        for r in range(mask.shape[0]):
            _multiply_in_place(dh[r], mask[r])
    return 0


@njit(**JIT)
def _run_parts(data, backward):
    """This thread's parts of the loop at ``data``, each through ``_forward_part`` or
    ``_backward_part``; a failure's status in its part's PART_STATUS."""
    loop = carray(int64_pointer(data), LOOP)
    parts = carray(int64_pointer(loop[PARTS]), (loop[N_PARTS], PART))
    thread, threads = c_call0(loop[LOOP_THREAD_NUM]), c_call0(loop[LOOP_NUM_THREADS])
    for k in range(thread, loop[N_PARTS], threads):
        parts[k][PART_STATUS] = _backward_part(loop, parts[k]) if backward else _forward_part(loop, parts[k])


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _forward_parts(data):
    """GOMP_parallel's function for a forward loop split by rows."""
    _run_parts(data, False)


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _backward_parts(data):
    """GOMP_parallel's function for a backward loop split by rows."""
    _run_parts(data, True)


class RowSplit:
    """A loop's per-step product v W (out (N, J) = v (N, K) W) split by rows over oneDNN's
    team: one part a thread, each with W packed for its rows and out's rows bound; None
    from ``make`` where the split does not serve (see ROWS_SPLIT_BYTES)."""

    @classmethod
    def make(cls, W, N, out):
        team = onednn.team()
        if (team is None or N < 2 or W.nbytes > ROWS_SPLIT_BYTES or not packed_products_serve(W)
                or N * W.size < onednn.SMALLEST_PRODUCT or onednn.element_strides(W) is None):
            return None
        return cls(W, N, out, team)

    def __init__(self, W, N, out, team):
        parts = min(N, onednn.team_size())
        bounds = [k * N // parts for k in range(parts + 1)]
        self._products = [onednn.PackedProduct(W, end - first, on_stream=onednn.stream(k))
                          for k, (first, end) in enumerate(zip(bounds, bounds[1:]))]
        self.parts = np.array([[*product.call_table(out[first:end]), first, end, 0]
                               for product, first, end in zip(self._products, bounds, bounds[1:])],
                              np.int64)
        self._team = team

    def run(self, function, T, N, G, arrays):
        """Run the loop: ``function`` (``_forward_parts`` or ``_backward_parts``) on every
        part, T steps of N rows and G gate columns; ``arrays``: loop field -> its
        C-contiguous float32 array (None or empty: none)."""
        loop = np.zeros(LOOP, np.int64)
        loop[[LOOP_THREAD_NUM, LOOP_NUM_THREADS]] = self._team[[onednn.THREAD_NUM, onednn.NUM_THREADS]]
        loop[[STEPS, LOOP_ROWS, LOOP_COLUMNS]] = T, N, G
        loop[[PARTS, N_PARTS]] = self.parts.ctypes.data, len(self.parts)
        for field, array in arrays.items():
            if array is not None and array.size:
                if not (array.flags.c_contiguous and array.dtype == np.float32):
                    raise ValueError("a loop split by rows reads C-contiguous float32 arrays")
                loop[field] = array.ctypes.data
        self.parts[:, PART_STATUS] = 0
        with onednn.lock:
            _parallel(self._team[onednn.PARALLEL], function.address, loop, len(self.parts))
        _checked(next((status for status in self.parts[:, PART_STATUS] if status), 0))


@njit(**JIT)
def _parallel(parallel, function, block, threads):
    """GOMP_parallel(function, block, threads, no flags)."""
    c_call4(parallel, function, np.int64(block.ctypes.data), np.int64(threads), np.int64(0))


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
    """``lstm_fused.forward_steps``, compiled: -> run(gates, b, c, tanh_c, h); with tanh_c
    (T, 0, 0) the gates are left as they were (``_forward_step``)."""
    ah = np.empty((N, Wh.shape[1]), dtype=Wh.dtype)  # h_{t-1} Wh
    split = RowSplit.make(Wh, N, ah)  # then the loop split by rows
    times_Wh = step_product(Wh, N) if split is None else None
    mask = _no_rows(ah) if recurrent_mask is None else np.ascontiguousarray(recurrent_mask)
    hm = np.empty((N, Wh.shape[0]), Wh.dtype) if recurrent_mask is not None else mask  # h_{t-1} * m
    packed = isinstance(times_Wh, onednn.PackedProduct)  # then the whole loop in compiled code
    call = times_Wh.call_table(ah) if packed else None
    team = _team(_forward_rows, N) if packed else None

    def run(gates, b, c, tanh_c, h):
        if recurrent_mask is not None:
            np.multiply(h[0], mask, out=hm)
        if split is not None:
            return split.run(_forward_parts, gates.shape[0], N, gates.shape[2], {
                GATES: gates, BIAS: np.ascontiguousarray(b), CELLS: c, TANH_C: tanh_c, HIDDEN: h,
                PRODUCT: ah, MASK: mask, MASKED: hm})
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
    mask = no_rows if recurrent_mask is None else np.ascontiguousarray(recurrent_mask)
    split = RowSplit.make(Wh.T, dh.shape[0], dh)  # BLAS and oneDNN read the transposed view
    if split is not None:
        split.run(_backward_parts, gates.shape[0], dh.shape[0], gates.shape[2], {
            GATES: gates, CELLS: c, TANH_C: tanh_c, UPSTREAM: dh_tm, GRADIENT: dh, CELL_GRADIENT: dc,
            CELL_GRADIENTS: dc_tm, GATE_GRADIENTS: da, MASK: mask})
        return da, dh, dc
    times_WhT = step_product(Wh.T, dh.shape[0])
    if isinstance(times_WhT, onednn.PackedProduct):  # the whole loop in compiled code
        no_dc = np.empty((gates.shape[0], 0, 0), dc.dtype)
        with onednn.lock:
            _checked(_backward_packed(gates, c, tanh_c, dh_tm, dh, dc,
                                      no_dc if dc_tm is None else dc_tm, da, mask,
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
    c_next, h_next = (np.empty((N, G // 4), dtype=Wx.dtype) for _ in range(2))
    no_rows = _no_rows(gates)
    times_Wx, times_Wh = step_product(Wx, N), step_product(Wh, N)

    def step(x, h, c):
        times_Wx(x, gates)
        times_Wh(h, ah)
        _forward_step(gates, b, ah, np.asarray(c, dtype=Wx.dtype), c_next, no_rows, h_next,
                      no_rows, no_rows)
        return h_next.copy(), c_next.copy()

    return step
