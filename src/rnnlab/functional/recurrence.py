"""Pieces every recurrent cell shares: the input projection of all T steps as one
GEMM, the input and weight gradients as GEMMs after the time loop, and the result
types (named caches, gradient tuples).

Inside a sequence function everything is time-major, ``(T, N, ...)``, so that the
slice for step t is contiguous; the public interface stays batch-first.

Tests: through every cell's tests.
"""
import numpy as np

from .backend import array_module
from .checks import ShapeChecker


class Gradients(tuple):
    """Gradients in the order of the forward's inputs, unpackable as a plain tuple.

    Gradients beyond the seed signature are attributes, e.g. ``lstm_backward``'s
    ``dc0``::

        grads = lstm_backward(dh, cache)
        dx, dh0, dWx, dWh, db = grads
        grads.dc0
    """

    def __new__(cls, grads, **extra):
        self = super().__new__(cls, grads)
        self.__dict__.update(extra)
        return self


class StateSequence:
    """What a cache holding h (T+1, N, H) = h_0 .. h_T offers (a mixin of the caches)."""

    @property
    def final_h(self):
        """h_T, (N, H)."""
        return self.h[-1]


def time_major(x):
    """(N, T, ...) batch-first -> contiguous (T, N, ...) time-major copy (always a copy:
    with N = 1 or T = 1 the swapped view is already contiguous, and callers write)."""
    return x.swapaxes(0, 1).copy()


def batch_first(x_tm):
    """(T, N, ...) time-major -> contiguous (N, T, ...) batch-first copy."""
    return time_major(x_tm)


def matmul(a, b):
    """a @ b: the GEMM of the functions below unless they are given another."""
    return a @ b


def input_projection(x, Wx, b=None, matmul=matmul):
    """All T input projections in one GEMM.

    x (N, T, D), Wx (D, G), b (G,) or None -> x_tm (T*N, D) time-major inputs (kept
    for dWx) and a (T, N, G) = x_t Wx + b for every t. ``matmul(a, b)`` -> a @ b: the
    GEMM to use (a time loop's own, to keep one thread pool busy in a layer).
    """
    N, T, D = x.shape
    x_tm = time_major(x).reshape(T * N, D)  # (T*N, D)
    a = matmul(x_tm, Wx)  # (T*N, G)
    if b is not None:
        a += b
    return x_tm, a.reshape(T, N, Wx.shape[1])


def input_gradients(da, x_tm, Wx, matmul=matmul):
    """Gradients of a = x Wx for all steps at once, from da (T, N, G).

    dx = da Wx^T  -> (N, T, D) batch-first
    dWx = sum_t x_t^T da_t = x_tm^T da   (one GEMM over T*N rows)
    """
    T, N, G = da.shape
    da_flat = da.reshape(T * N, G)
    dWx = matmul(x_tm.T, da_flat)  # (D, G)
    dx = batch_first(matmul(da_flat, Wx.T).reshape(T, N, Wx.shape[0]))  # (N, T, D)
    return dx, dWx


def recurrent_weight_gradient(h_prev, da, matmul=matmul):
    """dWh = sum_t h_{t-1}^T da_t, with h_prev (T, N, H) and da (T, N, G), as one GEMM."""
    T, N, H = h_prev.shape
    return matmul(h_prev.reshape(T * N, H).T, da.reshape(T * N, da.shape[-1]))  # (H, G)


def dropped(h, recurrent_mask):
    """h_{t-1} as the recurrent product sees it: h * m under variational recurrent dropout
    (Gal & Ghahramani 2016; one mask (N, H) per sequence, the same at every step)."""
    return h if recurrent_mask is None else h * recurrent_mask


def check_recurrent_mask(recurrent_mask, h0):
    """The recurrent dropout mask must be shaped like the state it drops, (N, H)."""
    if recurrent_mask is not None:
        check = ShapeChecker(N=h0.shape[0], H=h0.shape[1])
        check.dtype, check.dtype_source = h0.dtype, "the state"
        check("recurrent_mask", recurrent_mask, "NH")
    return recurrent_mask


def final_state_gradient(name, grad, N, H, dtype):
    """The upstream gradient on a final state, (N, H): a checked copy, or zeros when None."""
    xp = array_module(grad)
    if grad is None:
        return xp.zeros((N, H), dtype=dtype)
    return ShapeChecker(N=N, H=H)(name, grad, "NH").astype(dtype, copy=True)


def upstream_gradients(dh, dh_final, T, N, H):
    """The gradients a backward starts from: dh (N, T, H) on every output, checked, and
    dh_final (N, H) on h_T or None -> dh_tm (T, N, H) time-major, dh_next (N, H)."""
    ShapeChecker(N=N, T=T, H=H)("dh", dh, "NTH")
    return time_major(dh), final_state_gradient("dh_final", dh_final, N, H, dh.dtype)


def step_backward_from_sequence(backward, dnext_h, cache):
    """A cell's step backward as its sequence backward over T = 1: the step's gradient
    enters as the gradient on the final state. -> (dx, dprev_h, dWx, dWh, db)."""
    N, H = dnext_h.shape
    zeros = array_module(dnext_h).zeros((N, 1, H), dnext_h.dtype)
    dx, dprev_h, dWx, dWh, db = backward(zeros, cache, dh_final=dnext_h)
    return Gradients((dx[:, 0], dprev_h, dWx, dWh, db))


def cached_stepper(cache, step_forward, Wx, bx):
    """For inference one step at a time: -> step(x (N, D), h (N, H)) -> next_h, running
    a cell's ``step_forward(cache, 0)`` on the buffers of ``cache`` (gates (1, N, G) and
    h (2, N, H), allocated once by the caller), without checks."""
    xp = array_module(Wx)
    gates, h = cache.gates, cache.h

    def step(x, h_prev):
        xp.matmul(x, Wx, out=gates[0])
        gates[0] += bx
        h[0] = h_prev
        step_forward(cache, 0)
        return h[1].copy()

    return step


TRANSPOSED_PRODUCT_MIN_SIZE = 256  # measured: below it v W is as fast or faster (K > J)


def clip_recording(a, bound, inside=None):
    """Clip a to [-bound, bound] in place, writing to ``inside`` (when given) where it was
    inside: where the clip's gradient is 1 (ONNX ``clip``, TF ``cell_clip``)."""
    xp = array_module(a)
    if inside is not None:
        xp.less(xp.abs(a), bound, out=inside)
    xp.clip(a, -bound, bound, out=a)


def recurrent_product(W, N):
    """The per-step product of a time loop: -> product(v (N, J)) -> v W (N, K).

    With few rows, OpenBLAS computes (W^T v^T)^T faster than v W when K < J (the
    backward's da_t Wh^T; N = 20, H = 200, 100 steps: 8.5 -> 5.4 ms) and once J and K
    reach about 256 (N = 32, H = 256: 19 -> 16 ms; N = 16, H = 1024: 156 -> 113 ms,
    forward). The result is then a transposed view of one (K, N) buffer that the next
    call overwrites: read it before calling again.
    """
    xp = array_module(W)
    J, K = W.shape
    transposed = K < J or min(J, K) >= TRANSPOSED_PRODUCT_MIN_SIZE
    if not transposed or xp is not np:
        W = xp.ascontiguousarray(W)
        out = xp.empty((N, K), dtype=W.dtype)
        return lambda v: xp.matmul(v, W, out=out)
    WT = np.ascontiguousarray(W.T)  # (K, J); no copy when W is a transposed view
    outT = np.empty((K, N), dtype=W.dtype)

    def product(v):
        np.matmul(WT, v.T, out=outT)
        return outT.T

    return product
