"""The plain LSTM's time loops with the fewest passes over memory.

``lstm.py`` implements every option step by step; for the plain cell (no option but
the variational recurrent mask) ``lstm_forward`` and ``lstm_backward`` run these
loops instead, on the same buffers (gate columns i, f, o, g; see ``lstm.py``):

Forward. The sigmoid columns of x_t Wx + b and of Wh are halved (``halve_sigmoid_columns``),
so one tanh over all 4H columns gives tanh(a/2) for i, f, o and tanh(a_g) for g, and
sigmoid(a) = 0.5 + 0.5 tanh(a/2) finishes the three sigmoid gates in two passes
(scaling by 0.5 is exact, so the result is bit for bit that of the plain formula).

Backward. Every factor of the chain rule that does not depend on the incoming
gradients is computed for all T at once, before the loop:

    A_i = g * i (1 - i),  A_f = c_{t-1} * f (1 - f),  A_o = u * o (1 - o),  A_g = i (1 - g^2)
    k   = o (1 - u^2),    u = tanh(c_t)

so that a step is
    dc_t = dc_{t+1} f_{t+1} + dh_t * k_t
    da_t = [dc_t A_i, dc_t A_f, dh_t A_o, dc_t A_g]
    dh_{t-1} = dh[t-1] + (da_t Wh^T) * m

which is the chain rule of ``lstm._step_backward`` regrouped.

Tests: tests/test_lstm.py (the fused loops equal the general step-by-step code).
"""
from .backend import array_module
from .recurrence import matmul, recurrent_product  # noqa: F401 (matmul: the GEMMs around the loops)


def halve_sigmoid_columns(w, H):
    """A copy of w (..., 4H) with the i, f, o columns (the first 3H) times 0.5."""
    halved = w.copy()
    halved[..., : 3 * H] *= 0.5
    return halved


def _blocks(a):
    """(..., 4H) -> the i, f, o, g blocks (views)."""
    H = a.shape[-1] // 4
    return a[..., :H], a[..., H : 2 * H], a[..., 2 * H : 3 * H], a[..., 3 * H :]


def forward_loop(gates, b, c, tanh_c, h, Wh, recurrent_mask=None):
    """gates (T, N, 4H) holds x_t Wx; b (4H,); c (T+1, N, H) and h (T+1, N, H) hold c_0
    and h_0 in row 0; Wh (H, 4H). Fills gates with the gate values, c, tanh_c (T, N, H)
    and h, in place. tanh_c (T, 0, 0): nothing kept for a backward pass (tanh_c not
    written; gates then scratch: the compiled loops leave it as it was)."""
    forward_steps(Wh, gates.shape[1], recurrent_mask)(gates, b, c, tanh_c, h)


def forward_steps(Wh, N, recurrent_mask=None):
    """-> run(gates, b, c, tanh_c, h): ``forward_loop`` on these buffers, with h_{t-1} Wh
    prepared here once for N rows (``lstm_inference`` runs a sequence a stretch at a time)."""
    xp = array_module(Wh)
    H = Wh.shape[1] // 4
    times_Wh = recurrent_product(halve_sigmoid_columns(Wh, H), N)  # h_{t-1} Wh, (N, 4H)
    ig, u = (xp.empty((N, H), dtype=Wh.dtype) for _ in range(2))  # i * g; tanh(c_t) not kept
    hm = None if recurrent_mask is None else xp.empty((N, Wh.shape[0]), dtype=Wh.dtype)

    def run(gates, b, c, tanh_c, h):
        gates += b
        gates[..., : 3 * H] *= 0.5
        for t in range(gates.shape[0]):
            a, h_prev = gates[t], h[t]
            if hm is not None:  # h_{t-1} * m
                h_prev = xp.multiply(h_prev, recurrent_mask, out=hm)
            a += times_Wh(h_prev)
            xp.tanh(a, out=a)
            s = a[:, : 3 * H]  # tanh(a/2) -> sigmoid(a) for i, f, o
            s *= 0.5
            s += 0.5
            i, f, o, g = _blocks(a)
            xp.multiply(f, c[t], out=c[t + 1])  # c_t = f c_{t-1} + i g
            xp.multiply(i, g, out=ig)
            c[t + 1] += ig
            tanh_c_t = tanh_c[t] if tanh_c.shape[1] else u
            xp.tanh(c[t + 1], out=tanh_c_t)
            xp.multiply(o, tanh_c_t, out=h[t + 1])

    return run


def _chain_factors(gates, c, tanh_c, A, k):
    """Write A (T, N, 4H) = [A_i, A_f, A_o, A_g] and k (T, N, H) of the module docstring
    from the gate values, c_0 .. c_T (T+1, N, H) and tanh_c (T, N, H)."""
    xp = array_module(gates)
    H = gates.shape[2] // 4
    i, f, o, g = _blocks(gates)
    xp.subtract(1, gates, out=A)
    s = A[..., : 3 * H]
    s *= gates[..., : 3 * H]  # s (1 - s) for i, f, o
    A_i, A_f, A_o, A_g = _blocks(A)
    A_i *= g
    A_f *= c[:-1]
    A_o *= tanh_c
    xp.multiply(g, g, out=A_g)
    xp.subtract(1, A_g, out=A_g)
    A_g *= i
    xp.multiply(tanh_c, tanh_c, out=k)
    xp.subtract(1, k, out=k)
    k *= o


CHUNK_ELEMENTS = 1 << 16  # gate values per chunk of steps (256 KiB in float32): stays in cache


def backward_loop(dh_tm, gates, c, tanh_c, Wh, dh_next, dc_next, dc_tm=None,
                  recurrent_mask=None):
    """Backpropagation through the loop of ``forward_loop``.

    dh_tm (T, N, H): the upstream gradient on every h_t, overwritten with the total
    gradient on h_t; dh_next, dc_next (N, H): the gradients on h_T and c_T (dc_next is
    overwritten);
    dc_tm (T, N, H) or None: extra gradient on every c_t.
    -> da (T, N, 4H) the gradient on the gate pre-activations, dh_0, dc_0.

    The factors are computed for a chunk of steps at a time, just before the loop
    reaches it: few calls when steps are small, data still in cache when they are large.
    """
    xp = array_module(gates)
    T, N, G = gates.shape
    H = G // 4
    chunk = max(1, CHUNK_ELEMENTS // max(1, N * G))
    da = xp.empty_like(gates)
    k = xp.empty((min(chunk, T), N, H), dtype=gates.dtype)
    da4 = da.reshape(T, N, 4, H)
    f = _blocks(gates)[1]
    times_WhT = recurrent_product(Wh.T, N)  # da_t Wh^T, (N, H)
    dc = dc_next
    dck = xp.empty_like(dc)  # dh_t * k_t
    for end in range(T, 0, -chunk):
        start = max(0, end - chunk)
        _chain_factors(gates[start:end], c[start : end + 1], tanh_c[start:end], da[start:end],
                       k[: end - start])
        for t in reversed(range(start, end)):
            dh = dh_tm[t]
            dh += dh_next
            xp.multiply(dh, k[t - start], out=dck)
            dc += dck
            if dc_tm is not None:
                dc += dc_tm[t]
            da4[t, :, :2] *= dc[:, None]  # i, f
            da4[t, :, 3] *= dc  # g
            da4[t, :, 2] *= dh  # o
            dc *= f[t]
            dh_next = times_WhT(da[t])
            if recurrent_mask is not None:
                dh_next *= recurrent_mask
    return da, xp.ascontiguousarray(dh_next), dc
