"""The plain LSTM's packed loops on oneDNN's OpenMP team (``rnnlab[fast]``, the onednn
path): the loops run whole in compiled code, each step's product on weights packed once by
oneDNN (``onednn.PackedProduct``, run by ``lstm_steps.run_packed``), on oneDNN's own
threads (libgomp's ``GOMP_parallel``, found by ``onednn.team``), split one of three ways:

- the whole loop by rows (``RowSplit``): where the weights fit a core's cache
  (ROWS_SPLIT_BYTES), each thread runs the whole loop on its rows with a product of its
  own: nothing to wait for between steps;
- each step by rows (``forward_packed``, ``backward_packed``): otherwise each step's
  product runs on all threads, then the step's pass, each thread its rows (``step_team``);
- inference's loop, which projects its own inputs (each step [x_t, h_{t-1}] [Wx; Wh]):
  by rows as above where the weights are small for the rows (``RowSplit.for_inference``),
  else by units (``UnitSplit``: each thread its units' columns, a barrier a step).

Where each thread has a product of its own (the two splits of the whole loop), the thread
packs its product's weights itself before its loop (``PackedProduct.packed_later``, run by
``lstm_steps.run_packing``), straight from the caller's Wx and Wh where oneDNN's packed
layout takes their blocks: no gathered copy of the weights, no reorder forked per block,
both cores packing at once.

Each thread reaches its arrays through a block of int64 (addresses, sizes, flags) that a
Numba ``cfunc`` reads with ``carray``.

Tests: tests/test_lstm_compiled.py (either training split bit for bit what one thread
gives, forward and backward, with a mask and a gradient on every c; inference split
either way equal to the forward).
"""
import numpy as np
from numba import carray, cfunc, njit, types

from . import onednn
from .backend import packed_products_serve
from .lstm_steps import (JIT, backward_step, forward_step, multiply_in_place, run_packed, run_packing,
                         state_row)
from .native import c_call0, c_call4, float32_pointer, int64_pointer


# A step's pass split over oneDNN's OpenMP threads: the loop fills a block of int64 (the
# step's array addresses, sizes, flags, the team's functions), libgomp's GOMP_parallel runs
# a ``*_rows`` cfunc on every thread of the team with it, and each thread takes its share of
# the rows (measured here: the forward loop 11-18% faster, bit for bit the same numbers).
N_ROWS, COLUMNS, HAS_EXTRA, THREAD_NUM, NUM_THREADS = 9, 10, 11, 12, 13  # the block's fields
BLOCK = 14  # fields 0-8: array addresses, each step's own where the step changes them
ROWS_FUNCTION = onednn.BARRIER + 1  # the team's field after ``onednn.team()``'s
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
    """This thread's rows of ``forward_step``: block fields a, b, ah, c_prev, c, tanh_c
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
    forward_step(_view(block, 0, G)[rows], b, _view(block, 2, G)[rows], _view(block, 3, H)[rows],
                 _view(block, 4, H)[rows], tanh_c, _view(block, 6, H)[rows], mask, hm)


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _backward_rows(data):
    """This thread's rows of ``backward_step``: block fields gates, c_prev, tanh_c, dh
    (upstream), dh_next, dc, dc_t, da; HAS_EXTRA: a dc_t."""
    block = carray(int64_pointer(data), BLOCK)
    G = block[COLUMNS]
    H = G // 4
    start, end = _share(block)
    rows = slice(start, end)
    dc_t = _view(block, 6, H)[rows] if block[HAS_EXTRA] else np.empty((0, 0), np.float32)
    backward_step(_view(block, 0, G)[rows], _view(block, 1, H)[rows], _view(block, 2, H)[rows],
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
def _parallel(parallel, function, block, threads):
    """GOMP_parallel(function, block, threads (0: all), no flags)."""
    c_call4(parallel, function, np.int64(block.ctypes.data), np.int64(threads), np.int64(0))


@njit(**JIT)
def forward_packed(gates, b, c, tanh_c, h, ah, mask, hm, call, team):
    """The forward loop with each step's product run by ``run_packed`` -> a status; each
    step's pass on oneDNN's threads (``team``: ``step_team(N)``; empty: on this thread).
    tanh_c (T, 0, 0): nothing kept."""
    N, G = ah.shape
    block = _block(team, N, G, mask.shape[0] > 0) if team.size else np.empty(0, np.int64)
    if team.size:
        block[1], block[2] = b.ctypes.data, ah.ctypes.data
        block[7], block[8] = mask.ctypes.data, hm.ctypes.data
    for t in range(gates.shape[0]):
        status = run_packed(call, (h[t] if mask.shape[0] == 0 else hm).ctypes.data)
        if status:
            return status
        if team.size:
            block[0], block[3], block[4] = gates[t].ctypes.data, c[t].ctypes.data, c[t + 1].ctypes.data
            block[5] = tanh_c[t].ctypes.data if tanh_c.shape[1] else 0
            block[6] = h[t + 1].ctypes.data
            _parallel(team[onednn.PARALLEL], team[ROWS_FUNCTION], block, 0)
        else:
            forward_step(gates[t], b, ah, c[t], c[t + 1], tanh_c[t], h[t + 1], mask, hm)
    return 0


@njit(**JIT)
def backward_packed(gates, c, tanh_c, dh_tm, dh, dc, dc_tm, da, mask, call, team):
    """The backward loop with each step's product (da_t Wh^T -> dh) run by
    ``run_packed`` -> a status; each step's pass on oneDNN's threads as in
    ``forward_packed`` (``team``: ``step_team(N, BACKWARD)``). dc_tm (T, 0, 0) when
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
            _parallel(team[onednn.PARALLEL], team[ROWS_FUNCTION], block, 0)
        else:
            backward_step(gates[t], c[t], tanh_c[t], dh_tm[t], dh, dc, dc_tm[t], da[t])
        status = run_packed(call, da[t].ctypes.data)
        if status:
            return status
        if mask.shape[0]:
            for r in range(dh.shape[0]):
                multiply_in_place(dh[r], mask[r])
    return 0


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
(LOOP_THREAD_NUM, LOOP_NUM_THREADS, LOOP_BARRIER, STEPS, LOOP_ROWS, LOOP_COLUMNS, PARTS, N_PARTS,
 INPUT_SIZE, GATES, BIAS, CELLS, TANH_C, HIDDEN, PRODUCT, MASK, MASKED, UPSTREAM, GRADIENT,
 CELL_GRADIENT, CELL_GRADIENTS, GATE_GRADIENTS, INPUTS, OUTPUTS, STEP_INPUTS) = range(25)
LOOP = 25
FORWARD, BACKWARD, INFERENCE = range(3)  # the loops a RowSplit runs
# a part's fields after its product's call table: its rows, status, and the address of its
# product's ``packing`` table (run by the part's thread before its loop)
FIRST_ROW, END_ROW, PART_STATUS, PART_PACKING = 7, 8, 9, 10
PART = 11
NOT_RUN = -1  # a part's status before its thread runs it
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
    """This part's rows through every step of ``forward_packed``'s loop -> a status. The
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
        forward_step(_rows_of(loop, GATES, t, part, G), b, ah, _rows_of(loop, CELLS, t, part, H),
                     _rows_of(loop, CELLS, t + 1, part, H), _rows_of(loop, TANH_C, t, part, H),
                     _rows_of(loop, HIDDEN, t + 1, part, H), mask, hm)
    return 0


@njit(**JIT)
def _backward_part(loop, part):
    """This part's rows through every step of ``backward_packed``'s loop -> a status. The
    loop's fields: gates, c, tanh_c, dh_tm (UPSTREAM), dh (N, H), dc (N, H), dc_tm (0:
    none), da, mask (0: none)."""
    G = loop[LOOP_COLUMNS]
    H = G // 4
    dh, dc = _rows_of(loop, GRADIENT, 0, part, H), _rows_of(loop, CELL_GRADIENT, 0, part, H)
    mask = _rows_of(loop, MASK, 0, part, H)
    for t in range(loop[STEPS] - 1, -1, -1):
        da = _rows_of(loop, GATE_GRADIENTS, t, part, G)
        backward_step(_rows_of(loop, GATES, t, part, G), _rows_of(loop, CELLS, t, part, H),
                      _rows_of(loop, TANH_C, t, part, H), _rows_of(loop, UPSTREAM, t, part, H), dh, dc,
                      _rows_of(loop, CELL_GRADIENTS, t, part, H), da)
        status = run_packed(part, da.ctypes.data)
        if status:
            return status
        for r in range(mask.shape[0]):
            multiply_in_place(dh[r], mask[r])
    return 0


@njit(inline="always", **JIT)
def _copy(a, out):
    """out[:] = a; inlined where it is called (as a call, the inference loop ran 5x slower)."""
    for j in range(a.size):
        out[j] = a[j]


@njit(**JIT)
def inference_step(x, y, v_next, ah, c_prev, c, b, t, rows, units, inputs):
    """Step t of inference's loop that projects its own inputs, after its product
    ah = [x_t, h_{t-1}] [Wx; Wh] of (a share of) the gate columns: for ``rows`` (first,
    end), c_t and h_t of ``units`` (first, end) from b + ah and c_{t-1} (``state_row``;
    ah, b, c_prev, c hold those units only, gate blocks i, f, o, g side by side), h_t into
    v_next (the next step's [x_{t+1}, h_t]) and y[:, t]; x_{t+1} into v_next for the rows
    ``inputs`` (first, end). x (N, T, D), y (N, T, H), v_next (N, D + H)."""
    D, T = x.shape[2], x.shape[1]
    lo, hi = units
    for n in range(rows[0], rows[1]):
        h = v_next[n, D + lo : D + hi]
        state_row(b, ah[n], c_prev[n], c[n], h)
        _copy(h, y[n, t, lo:hi])
    if t + 1 < T:
        for n in range(inputs[0], inputs[1]):
            _copy(x[n, t + 1], v_next[n, :D])


@njit(**JIT)
def _inference_arrays(loop):
    """-> x (N, T, D), y (N, T, H), v (2, N, D + H): an inference loop's fields."""
    T, N, G, D = loop[STEPS], loop[LOOP_ROWS], loop[LOOP_COLUMNS], loop[INPUT_SIZE]
    return (carray(float32_pointer(loop[INPUTS]), (N, T, D)),
            carray(float32_pointer(loop[OUTPUTS]), (N, T, G // 4)),
            carray(float32_pointer(loop[STEP_INPUTS]), (2, N, D + G // 4)))


@njit(**JIT)
def _inference_part(loop, part):
    """This part's rows through every step of an inference loop that projects its own
    inputs -> a status: each step ah = v[t % 2] [Wx; Wh] (the part's product), then
    ``inference_step`` into v[(t + 1) % 2]. The loop's fields: x (N, T, D) and y (N, T, H)
    batch-first, v (2, N, D + H) holding [x_0, h_0] in v[0], ah (N, 4H), c (2, N, H)
    holding c_0, b."""
    x, y, v = _inference_arrays(loop)
    N, G = loop[LOOP_ROWS], loop[LOOP_COLUMNS]
    rows = (part[FIRST_ROW], part[END_ROW])
    ah = carray(float32_pointer(loop[PRODUCT]), (N, G))
    c = carray(float32_pointer(loop[CELLS]), (2, N, G // 4))
    b = carray(float32_pointer(loop[BIAS]), (G,))
    for t in range(loop[STEPS]):
        status = run_packed(part, v[t % 2][rows[0] : rows[1]].ctypes.data)
        if status:
            return status
        inference_step(x, y, v[(t + 1) % 2], ah, c[t % 2], c[(t + 1) % 2], b, t, rows, (0, G // 4),
                       rows)
    return 0


@njit(**JIT)
def _run_parts(data, loop_kind):
    """This thread's parts of the loop at ``data``, each through ``_forward_part``,
    ``_backward_part`` or ``_inference_part``; a failure's status in its part's PART_STATUS."""
    loop = carray(int64_pointer(data), LOOP)
    parts = carray(int64_pointer(loop[PARTS]), (loop[N_PARTS], PART))
    thread, threads = c_call0(loop[LOOP_THREAD_NUM]), c_call0(loop[LOOP_NUM_THREADS])
    for k in range(thread, loop[N_PARTS], threads):
        status = run_packing(parts[k][PART_PACKING])
        if status == 0 and loop_kind == FORWARD:
            status = _forward_part(loop, parts[k])
        elif status == 0 and loop_kind == BACKWARD:
            status = _backward_part(loop, parts[k])
        elif status == 0:
            status = _inference_part(loop, parts[k])
        parts[k][PART_STATUS] = status


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _forward_parts(data):
    """GOMP_parallel's function for a forward loop split by rows."""
    _run_parts(data, FORWARD)


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _backward_parts(data):
    """GOMP_parallel's function for a backward loop split by rows."""
    _run_parts(data, BACKWARD)


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _inference_parts(data):
    """GOMP_parallel's function for an inference loop split by rows."""
    _run_parts(data, INFERENCE)


PARTS_FUNCTIONS = (_forward_parts, _backward_parts, _inference_parts)  # by loop kind

# Inference's loop split by rows projects its own inputs: each part's product multiplies
# [x_t, h_{t-1}] by [Wx; Wh], with no gate buffer for all steps, no time-major copy of x
# and h_t written straight into y. Measured here against the stretches (the input
# projection one GEMM a stretch, then the loop): (32,100,64,128) 1.25x, (64,100,128,256)
# 1.13x, (32,100,256,256) 1.17x, (8,100,64,128) 1.7x; slower where a part has few rows for
# the weights it reads each step: (4,100,256,256) 2 MiB for 2 rows 0.7x, (16,100,512,512)
# 8 MiB for 8 rows 0.75x; and against the split by units (``UnitSplit``) at 1.5 and 2 MiB,
# (64,100,128,256) 1.02x, (32,100,256,256) 1.12x. So: [Wx; Wh] up to INFERENCE_SPLIT_BYTES,
# and at most INFERENCE_BYTES_A_ROW for each row of a part; otherwise the units split.
INFERENCE_SPLIT_BYTES = 2 << 20
INFERENCE_BYTES_A_ROW = 256 << 10


def inference_split_fits(K, G, N):
    """Whether inference's loop split by rows serves weights [Wx; Wh] (K, G) in float32
    for N rows (``RowSplit.make`` decides the rest)."""
    if onednn.team() is None or N < 2:
        return False
    nbytes = FLOAT32_BYTES * K * G
    return nbytes <= min(INFERENCE_SPLIT_BYTES, INFERENCE_BYTES_A_ROW * (N // min(N, onednn.team_size())))


def _assembled(tiling, shape):
    """The float32 array of this shape that the blocks [(array, (row, column))] tile."""
    W = np.empty(shape, np.float32)
    for block, (row, column) in tiling:
        W[row : row + block.shape[0], column : column + block.shape[1]] = block
    return W


def _part_product(tiling, shape, N, k):
    """-> part k's product for N rows of weights of this shape, which the part's thread
    packs before its loop (``PackedProduct.packed_later``): straight from the blocks of
    ``tiling`` where the packed layout takes them, else from one array assembled from them
    (packed here where the layout does not take that either)."""
    product = onednn.PackedProduct.packed_later(tiling, shape, N, k)
    if product is None:
        W = _assembled(tiling, shape)
        product = (onednn.PackedProduct.packed_later([(W, (0, 0))], shape, N, k)
                   or onednn.PackedProduct(W, N, on_stream=onednn.stream(k)))
    return product


class RowSplit:
    """A loop's per-step product v W (out (N, J) = v (N, K) W) split by rows over oneDNN's
    team: one part a thread, each with W packed for its rows (by its own thread) and out's
    rows bound; None from ``make`` where the split does not serve (W above ``most_bytes``,
    by default ROWS_SPLIT_BYTES)."""

    @classmethod
    def make(cls, W, N, out, most_bytes=None):
        if not packed_products_serve(W):
            return None
        return cls._made([(W, (0, 0))], W.shape, N, out, most_bytes)

    @classmethod
    def for_inference(cls, Wx, Wh, N, out):
        """-> the split by rows of inference's loop that projects its own inputs ([Wx; Wh],
        packed straight from Wx and Wh), or None where it does not serve
        (``inference_split_fits``)."""
        (D, G), H = Wx.shape, Wh.shape[0]
        if not inference_split_fits(D + H, G, N):
            return None
        return cls._made([(Wx, (0, 0)), (Wh, (D, 0))], (D + H, G), N, out, INFERENCE_SPLIT_BYTES)

    @classmethod
    def _made(cls, tiling, shape, N, out, most_bytes):
        """-> the split of the weights that ``tiling``'s blocks tile, or None (``make``)."""
        team = onednn.team()
        most_bytes = ROWS_SPLIT_BYTES if most_bytes is None else most_bytes
        size = shape[0] * shape[1]
        if team is None or N < 2 or FLOAT32_BYTES * size > most_bytes or N * size < onednn.SMALLEST_PRODUCT:
            return None
        return cls(tiling, shape, N, out, team)

    def __init__(self, tiling, shape, N, out, team):
        parts = min(N, onednn.team_size())
        bounds = [k * N // parts for k in range(parts + 1)]
        self._products = [_part_product(tiling, shape, end - first, k)
                          for k, (first, end) in enumerate(zip(bounds, bounds[1:]))]
        self.parts = np.array([[*product.call_table(out[first:end]), first, end, 0, product.packing.ctypes.data]
                               for product, first, end in zip(self._products, bounds, bounds[1:])],
                              np.int64)
        self._team = team

    def run(self, loop_kind, T, N, G, arrays, D=0):
        """Run the FORWARD, BACKWARD or INFERENCE loop on every part, T steps of N rows and
        G gate columns (D inputs: inference); ``arrays``: loop field -> its C-contiguous
        float32 array (None or empty: none)."""
        _run_loop(PARTS_FUNCTIONS[loop_kind], self._team, self.parts, (T, N, G, D), arrays)


def _run_loop(function, team, parts, sizes, arrays):
    """GOMP_parallel(function) on a thread a part, with the loop block of these parts
    (their table's address), sizes (T, N, G, D) and arrays (field -> C-contiguous float32
    array; None or empty: none); each part's status NOT_RUN until its thread sets it.
    Raises OneDNNError for a part that failed."""
    loop = np.zeros(LOOP, np.int64)
    loop[[LOOP_THREAD_NUM, LOOP_NUM_THREADS, LOOP_BARRIER]] = \
        team[[onednn.THREAD_NUM, onednn.NUM_THREADS, onednn.BARRIER]]
    loop[[STEPS, LOOP_ROWS, LOOP_COLUMNS, INPUT_SIZE]] = sizes
    loop[[PARTS, N_PARTS]] = parts.ctypes.data, len(parts)
    for field, array in arrays.items():
        if array is not None and array.size:
            if not (array.flags.c_contiguous and array.dtype == np.float32):
                raise ValueError("a split loop reads C-contiguous float32 arrays")
            loop[field] = array.ctypes.data
    parts[:, PART_STATUS] = NOT_RUN
    with onednn.lock:
        _parallel(team[onednn.PARALLEL], function.address, loop, len(parts))
    checked(next((status for status in parts[:, PART_STATUS] if status > 0), 0))


# Inference's loop split by units (``UnitSplit``), for [Wx; Wh] above INFERENCE_SPLIT_BYTES
# and up to INFERENCE_UNITS_BYTES: each thread owns a share of the hidden units and the
# columns of [Wx; Wh] that compute them (its units' i, f, o, g blocks side by side), packed
# for all N rows. Each step every thread multiplies all of [x_t, h_{t-1}] by its columns,
# updates its units' c_t and h_t from the product it wrote, writes h_t into the next step's
# input and waits at a barrier: one parallel region a loop, one barrier a step. Measured
# here, in one process, against the product on all threads followed by a pass split by
# rows (two parallel regions a step): (32,100,512,512) 1.03x, (16,100,512,512) 1.08x,
# (8,100,128,256) 1.05x, (4,100,256,256) 1.01x, (64,100,256,512) 0.99x; and that one
# against the stretches (the input projection one GEMM a stretch, then the loop):
# (64,100,256,512) 1.14x, (32,100,512,512) 1.06x; the units split against the stretches,
# 8 rounds in a later hour: 1.06x and 1.01x. Above 8 MiB the weights come from
# memory every step: oneDNN's packed product ran here at 409-484 GFLOP/s on 4-8 MiB for
# 16-64 rows (the input projection's GEMM 434-460), at 261-396 on 32 MiB. With few rows
# for the weights every thread reads every step it loses to the stretches: 8 MiB for 16
# rows 0.99x, for 12 0.98x, for 8 0.96x, for 4 0.88x, for 1 0.59x; 6 MiB for 8 rows 0.95x.
# So: [Wx; Wh] up to INFERENCE_UNITS_BYTES, and at most INFERENCE_BYTES_A_ROW for each row.
INFERENCE_UNITS_BYTES = 8 << 20
# a unit part: its product's call table, then its first and end unit, status, packing (as
# a row part's), and the addresses of its b (4 H_k,), c (2, N, H_k) and product (N, 4 H_k)
FIRST_UNIT, END_UNIT, PART_BIAS, PART_CELLS, PART_PRODUCT = 7, 8, 11, 12, 13
UNIT_PART = 14


@njit(**JIT)
def _unit_part(loop, part, k):
    """Part k's units through every step of an inference loop split by units -> a status
    (``UnitSplit``): its columns of [Wx; Wh] packed, then each step ah = v[t % 2] [its
    columns], ``inference_step`` for its units of every row (and x_{t+1} for its share of
    the rows) into v[(t + 1) % 2], then the barrier, which every thread reaches every step,
    failed or not."""
    x, y, v = _inference_arrays(loop)
    N, P = loop[LOOP_ROWS], loop[N_PARTS]
    units = (part[FIRST_UNIT], part[END_UNIT])
    H_k = units[1] - units[0]
    ah = carray(float32_pointer(part[PART_PRODUCT]), (N, 4 * H_k))
    c = carray(float32_pointer(part[PART_CELLS]), (2, N, H_k))
    b = carray(float32_pointer(part[PART_BIAS]), (4 * H_k,))
    status = run_packing(part[PART_PACKING])
    for t in range(loop[STEPS]):
        if status == 0:
            status = run_packed(part, v[t % 2].ctypes.data)
        if status == 0:
            inference_step(x, y, v[(t + 1) % 2], ah, c[t % 2], c[(t + 1) % 2], b, t, (0, N), units,
                           (k * N // P, (k + 1) * N // P))
        c_call0(loop[LOOP_BARRIER])
    return status


@cfunc(ROWS_SIGNATURE, **CFUNC)
def _unit_parts(data):
    """GOMP_parallel's function for an inference loop split by units: part k on thread k,
    and none unless the team has a thread a part (a thread with two parts would wait at the
    barrier for itself)."""
    loop = carray(int64_pointer(data), LOOP)
    parts = carray(int64_pointer(loop[PARTS]), (loop[N_PARTS], UNIT_PART))
    thread, threads = c_call0(loop[LOOP_THREAD_NUM]), c_call0(loop[LOOP_NUM_THREADS])
    if threads == loop[N_PARTS]:
        parts[thread][PART_STATUS] = _unit_part(loop, parts[thread], thread)


class UnitSplit:
    """Inference's loop split by units over oneDNN's team: one part a thread, each with
    its units' columns of [Wx; Wh] packed for N rows (by its own thread, straight from Wx
    and Wh where the packed layout takes their gate blocks), its share of b, its cells and
    product; None from ``make`` where the split does not serve (see INFERENCE_UNITS_BYTES)."""

    @classmethod
    def make(cls, Wx, Wh, b, N):
        team = onednn.team()
        (D, G), H = Wx.shape, Wh.shape[0]
        nbytes = FLOAT32_BYTES * (D + H) * G
        if team is None or nbytes > min(INFERENCE_UNITS_BYTES, INFERENCE_BYTES_A_ROW * N):
            return None
        parts = min(H, onednn.team_size())
        if parts < 2 or N * (D + H) * (G // parts) < onednn.SMALLEST_PRODUCT:
            return None
        return cls(Wx, Wh, b, N, team, parts)

    def __init__(self, Wx, Wh, b, N, team, parts):
        D, H = Wx.shape[0], Wh.shape[0]
        self._team = team
        self.units = [(k * H // parts, (k + 1) * H // parts) for k in range(parts)]
        self._arrays, table = [], []
        for k, (lo, hi) in enumerate(self.units):
            H_k = hi - lo
            b_k = np.empty((4, H_k), np.float32)
            b_k[:] = b.reshape(4, H)[:, lo:hi]  # each gate's block of these units
            b_k = b_k.reshape(4 * H_k)
            tiling = [(W[:, g * H + lo : g * H + hi], (row, g * H_k))  # [Wx; Wh]'s columns of them
                      for W, row in ((Wx, 0), (Wh, D)) for g in range(4)]
            product = _part_product(tiling, (D + H, 4 * H_k), N, k)
            c_k, ah_k = np.empty((2, N, H_k), np.float32), np.empty((N, 4 * H_k), np.float32)
            self._arrays.append((product, b_k, c_k, ah_k))
            table.append([*product.call_table(ah_k), lo, hi, 0, product.packing.ctypes.data,
                          b_k.ctypes.data, c_k.ctypes.data, ah_k.ctypes.data])
        self.parts = np.array(table, np.int64)

    def run(self, x, v, c0, y):
        """The loop over x (N, T, D) (C-contiguous), v (2, N, D + H) holding [x_0, h_0] in
        v[0], c_0 (N, H) or None, y (N, T, H) written -> c_T (h_T is v[T % 2, :, D:]), or
        None where the team ran fewer threads than parts (nothing ran)."""
        (N, T, D), H = x.shape, y.shape[2]
        for (lo, hi), (_, _, c_k, _) in zip(self.units, self._arrays):
            c_k[0] = 0 if c0 is None else c0[:, lo:hi]
        _run_loop(_unit_parts, self._team, self.parts, (T, N, 4 * H, D),
                  {INPUTS: x, OUTPUTS: y, STEP_INPUTS: v})
        if (self.parts[:, PART_STATUS] == NOT_RUN).any():
            return None
        return np.concatenate([c_k[T % 2] for _, _, c_k, _ in self._arrays], axis=1)


def checked(status):
    """Raise OneDNNError for a failed primitive_execute's status."""
    if status:
        raise onednn.OneDNNError(f"oneDNN: primitive_execute failed with status {status}")


def step_team(N, loop_kind=FORWARD):
    """-> what the packed loops need to split each step's pass over N rows over oneDNN's
    OpenMP threads (the ``team`` of ``forward_packed`` or ``backward_packed``, by
    ``loop_kind``: FORWARD or BACKWARD); empty (the pass on this thread) for one row or
    where the runtime is not found."""
    functions = onednn.team()
    if functions is None or N < 2:
        return np.empty(0, np.int64)
    rows = (_forward_rows, _backward_rows)[loop_kind]
    return np.append(functions, np.int64(rows.address))
