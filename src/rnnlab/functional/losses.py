"""Losses: softmax cross-entropy (per step or per sequence) and mean squared error.

Tests: tests/test_functional_misc.py (finite differences, masks),
tests/test_torch_crosscheck.py (cross_entropy, the fused loss).
"""
import math

from .backend import array_module
from .checks import ShapeChecker, check_ids


def temporal_softmax_loss(x, y, mask=None, overwrite=False):
    """Softmax cross-entropy at every step, summed over time, averaged over the batch.

    x (N, T, V) scores, y (N, T) integer targets in [0, V), mask (N, T) (True or 1
    where a step counts; all steps when None) -> (loss, dx (N, T, V)).

    loss = -(1/N) sum_{n,t} mask[n,t] log p[n,t,y[n,t]],   p = softmax(x[n,t])
    dx[n,t] = mask[n,t] (p[n,t] - onehot(y[n,t])) / N

    Fused: with z = x - max_v x, -log p[y] = log sum_v exp(z_v) - z_y, and dx is
    built in one (N*T, V) buffer (x itself with ``overwrite=True``): five passes
    over it, no other temporary of that size.
    """
    check = ShapeChecker()
    check("x", x, "NTV")
    check("y", y, "NT", floating=False)
    xp = array_module(x, y)
    N, T, V = x.shape
    check_ids("y", y, V)
    weight = None if mask is None else \
        check("mask", mask, "NT", floating=False).reshape(-1).astype(x.dtype) / max(N, 1)
    rows, y_flat = xp.arange(N * T), y.reshape(-1)
    z = x.reshape(N * T, V) if overwrite else x.reshape(N * T, V).copy()
    z -= z.max(axis=1, keepdims=True)
    nll = -z[rows, y_flat]  # (N*T,): - z_y, then + log sum exp z
    xp.exp(z, out=z)
    total = z.sum(axis=1)
    nll += xp.log(total)
    scale = 1.0 / (total * max(N, 1)) if weight is None else weight / total
    z *= scale[:, None]  # p / N (times the mask)
    z[rows, y_flat] -= 1.0 / max(N, 1) if weight is None else weight
    loss = nll.sum() / max(N, 1) if weight is None else (weight * nll).sum()
    return float(loss), z.reshape(N, T, V)


def softmax_loss(x, y):
    """Softmax cross-entropy averaged over the batch: x (N, V) scores, y (N,) integer
    targets -> (loss, dx (N, V)); the T = 1 case of ``temporal_softmax_loss``."""
    ShapeChecker()("x", x, "NV")
    loss, dx = temporal_softmax_loss(x[:, None], array_module(x).asarray(y)[:, None])
    return loss, dx[:, 0]


def mean_squared_error(pred, target, mask=None):
    """Mean of (pred - target)^2 over every element (of the steps where ``mask`` (N, T)
    is set, for (N, T, ...) arrays) -> (loss, dpred).

    loss = (1/K) sum_k m_k (pred_k - target_k)^2,   K = number of counted elements
    dpred = (2/K) m (pred - target)
    """
    if pred.shape != target.shape:
        raise ValueError(f"target: expected the shape of the predictions {pred.shape}, "
                         f"got {target.shape}")
    diff = pred - target
    if mask is not None:
        weight = ShapeChecker(N=pred.shape[0], T=pred.shape[1])("mask", mask, "NT", floating=False)
        diff *= weight.reshape(weight.shape + (1,) * (pred.ndim - 2)).astype(pred.dtype)
        count = max(float(weight.sum()) * math.prod(pred.shape[2:]), 1.0)
    else:
        count = max(pred.size, 1)
    return float((diff * diff).sum() / count), diff * (2 / count)


def token_softmax_loss(x, y, mask=None, overwrite=False):
    """``temporal_softmax_loss`` averaged over the counted tokens instead of the batch:
    nats per token, the figure language models report -> (loss, dx (N, T, V)).

    loss = -(1/K) sum_{n,t} mask[n,t] log p[n,t,y[n,t]],   K = sum mask (N T without)
    dx = (N / K) * the temporal loss's dx
    """
    total, dx = temporal_softmax_loss(x, y, mask, overwrite)
    N, T = x.shape[:2]
    count = N * T if mask is None else int(array_module(x).sum(mask))
    scale = N / max(count, 1)
    dx *= scale
    return total * scale, dx
