"""Layer normalisation over the last axis (Ba, Kiros & Hinton 2016).

    mu = mean(x),  var = mean((x - mu)^2),  rstd = 1 / sqrt(var + eps)
    xhat = (x - mu) * rstd
    y = gamma * xhat + beta          (beta optional)
"""
from dataclasses import dataclass

from .backend import array_module
from .checks import ShapeChecker

LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class LayerNormCache:
    xhat: object  # (..., K) normalised input
    rstd: object  # (..., 1) reciprocal standard deviation
    gamma: object  # (K,)


def normalize(x, eps=LAYER_NORM_EPS):
    """-> (xhat, rstd): x standardised over its last axis, and 1/std with keepdims."""
    xp = array_module(x)
    xhat = x - x.mean(axis=-1, keepdims=True)
    rstd = 1 / xp.sqrt((xhat * xhat).mean(axis=-1, keepdims=True) + eps)
    xhat *= rstd
    return xhat, rstd


def normalize_backward(dxhat, xhat, rstd):
    """d(loss)/dx from d(loss)/dxhat.

    xhat = (x - mu) rstd  =>  dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
    """
    return rstd * (
        dxhat
        - dxhat.mean(axis=-1, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)
    )


def layer_norm_forward(x, gamma, beta=None, eps=LAYER_NORM_EPS):
    """x (..., K), gamma (K,), optional beta (K,) -> y (..., K), cache."""
    check = ShapeChecker()
    check("gamma", gamma, "K")
    if beta is not None:
        check("beta", beta, "K")
    if not hasattr(x, "shape") or x.shape[-1:] != gamma.shape:
        raise ValueError(
            f"x: expected an array whose last axis is K = {gamma.shape[0]}, "
            f"got shape {getattr(x, 'shape', type(x).__name__)}"
        )
    xhat, rstd = normalize(x, eps)
    y = xhat * gamma
    if beta is not None:
        y += beta
    return y, LayerNormCache(xhat, rstd, gamma)


def layer_norm_backward(dy, cache):
    """dy (..., K) -> (dx, dgamma, dbeta); dgamma = sum(dy xhat), dbeta = sum(dy) over all
    leading axes; dx through normalize_backward with dxhat = dy gamma."""
    K = cache.gamma.shape[0]
    lead = tuple(range(dy.ndim - 1))
    return (
        normalize_backward(dy * cache.gamma, cache.xhat, cache.rstd),
        (dy * cache.xhat).sum(axis=lead).reshape(K),
        dy.sum(axis=lead).reshape(K),
    )
