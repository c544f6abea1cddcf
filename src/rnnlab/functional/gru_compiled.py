"""The GRU's forward loop with each step's gate math compiled by Numba (``rnnlab[fast]``),
for the cell PyTorch and Keras default to: reset_after, sigmoid and tanh, no gate clip
(with or without a recurrent dropout mask). ``gru.py`` runs everything else, and the
backward pass, on the buffers this loop fills exactly as its own steps do.

A step: the recurrent product ah = hm Wh (hm = h_{t-1} * m, or h_{t-1}) by NumPy's BLAS,
then ONE compiled pass over the step's rows (in place of about ten ufunc passes), a
holding x_t Wx + bx:

    r, z = sigmoid(a_rz + ah_rz + bh_rz) = 0.5 + 0.5 tanh((a_rz + ah_rz + bh_rz) / 2)
    hn   = ah_n + bh_n
    n    = tanh(a_n + r hn)
    h_t  = n + z (h_{t-1} - n)

with ``lstm_steps``' tanh (a rational function in float32, libm's in float64). The
products stay on NumPy's BLAS on every path: the GRU's backward and its other GEMMs run
there, on NumPy's threads, which oneDNN's (``onednn.py``) would take.

Tests: tests/test_gru.py (equal to the NumPy steps, float64 to 1e-12, float32 to 1e-6,
on every path); tests/conftest.py runs the GRU and cross-check tests on every path.
"""
import numpy as np
from numba import njit

from .lstm_steps import JIT, no_rows, product, sigmoid, tanh


@njit(**JIT)
def _forward_step(a, ah, bh, hn, h_prev, h, mask, hm):
    """Rows of one step. a (n, 3H): x_t Wx + bx -> the gate values r, z, n; ah (n, 3H):
    hm Wh; bh (3H,); hn, h_prev, h (n, H): written hn and h_t; mask (n, H) or (0, 0):
    hm = h_t * mask, the next step's product input."""
    rows, G = a.shape
    H = G // 3
    for row in range(rows):
        ar, ahr, hnr = a[row], ah[row], hn[row]
        for k in range(2 * H):  # sigmoid(u) = 0.5 + 0.5 tanh(u/2)
            ar[k] = sigmoid(ar[k] + ahr[k] + bh[k])
        ah_n, bh_n = ahr[2 * H :], bh[2 * H :]
        for j in range(H):
            hnr[j] = ah_n[j] + bh_n[j]
        _candidate(ar[2 * H :], ar[:H], hnr)
        _update(ar[2 * H :], ar[H : 2 * H], h_prev[row], h[row])
        if mask.shape[0]:
            product(h[row], mask[row], hm[row])


@njit(**JIT)
def _candidate(n, r, hn):
    """n = tanh(n + r hn), in place."""
    for j in range(n.size):
        n[j] = tanh(n[j] + r[j] * hn[j])


@njit(**JIT)
def _update(n, z, h_prev, h):
    """h = n + z (h_prev - n)."""
    for j in range(h.size):
        h[j] = n[j] + z[j] * (h_prev[j] - n[j])


def forward_loop(gates, h, hn, Wh, bh, recurrent_mask=None):
    """gates (T, N, 3H) holds x_t Wx + bx; h (T+1, N, H) holds h_0 in row 0; Wh (H, 3H);
    bh (3H,). Fills gates with r, z, n, hn (T, N, H) with h_{t-1} Wh_n + bh_n and h."""
    T, N, G = gates.shape
    ah = np.empty((N, G), dtype=gates.dtype)  # hm Wh
    mask = no_rows(gates) if recurrent_mask is None else recurrent_mask
    hm = np.multiply(h[0], mask) if recurrent_mask is not None else mask
    for t in range(T):
        np.matmul(h[t] if recurrent_mask is None else hm, Wh, out=ah)
        _forward_step(gates[t], ah, bh, hn[t], h[t], h[t + 1], mask, hm)
