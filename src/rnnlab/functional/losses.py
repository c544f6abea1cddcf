"""Losses over sequences of scores."""
from .activations import log_softmax
from .backend import array_module
from .checks import ShapeChecker, check_ids


def temporal_softmax_loss(x, y, mask=None):
    """Softmax cross-entropy at every step, summed over time, averaged over the batch.

    x (N, T, V) scores, y (N, T) integer targets in [0, V), mask (N, T) (True or 1
    where a step counts; all steps when None) -> (loss, dx (N, T, V)).

    loss = -(1/N) sum_{n,t} mask[n,t] log p[n,t,y[n,t]],   p = softmax(x[n,t])
    dx[n,t] = mask[n,t] (p[n,t] - onehot(y[n,t])) / N
    """
    check = ShapeChecker()
    check("x", x, "NTV")
    check("y", y, "NT", floating=False)
    xp = array_module(x, y)
    N, T, V = x.shape
    check_ids("y", y, V)
    if mask is None:
        weight = xp.ones(N * T, dtype=x.dtype)
    else:
        weight = check("mask", mask, "NT", floating=False).reshape(-1).astype(x.dtype)
    rows = xp.arange(N * T)
    y_flat = y.reshape(-1)
    logp = log_softmax(x.reshape(N * T, V))  # (N*T, V)
    loss = -(weight * logp[rows, y_flat]).sum() / max(N, 1)
    dx = xp.exp(logp, out=logp)  # p
    dx[rows, y_flat] -= 1
    dx *= (weight / max(N, 1))[:, None]
    return float(loss), dx.reshape(N, T, V)
