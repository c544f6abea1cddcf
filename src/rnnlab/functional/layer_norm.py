"""Layer normalisation over the last axis (Ba, Kiros & Hinton 2016), as the layer-norm
LSTM applies it (``functional.lstm``, option ``layer_norm``; tested there):

    mu = mean(x),  var = mean((x - mu)^2),  rstd = 1 / sqrt(var + eps)
    xhat = (x - mu) * rstd
"""
from .backend import array_module

LAYER_NORM_EPS = 1e-5


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
