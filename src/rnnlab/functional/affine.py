"""Affine maps: out = x w + b, on (N, D) rows or on every step of (N, T, D).

Tests: tests/test_functional_misc.py (finite differences).
"""
from dataclasses import dataclass

from .checks import ShapeChecker


@dataclass(frozen=True)
class AffineCache:
    x: object  # (N, D)
    w: object  # (D, M)


def _affine(x, w, b):
    out = x @ w
    out += b
    return out, AffineCache(x, w)


def _affine_backward(dout, cache):
    """out = x w + b  =>  dx = dout w^T, dw = x^T dout, db = sum_n dout."""
    return dout @ cache.w.T, cache.x.T @ dout, dout.sum(axis=0)


def affine_forward(x, w, b):
    """x (N, D), w (D, M), b (M,) -> out (N, M) = x w + b, cache."""
    check = ShapeChecker()
    check("x", x, "ND")
    check("w", w, "DM")
    check("b", b, "M")
    return _affine(x, w, b)


def affine_backward(dout, cache):
    """dout (N, M) -> (dx, dw, db)."""
    N, M = cache.x.shape[0], cache.w.shape[1]
    ShapeChecker(N=N, M=M)("dout", dout, "NM")
    return _affine_backward(dout, cache)


def temporal_affine_forward(x, w, b):
    """The same affine map at every step: x (N, T, D) -> out (N, T, M), cache."""
    check = ShapeChecker()
    check("x", x, "NTD")
    check("w", w, "DM")
    check("b", b, "M")
    N, T, D = x.shape
    out, cache = _affine(x.reshape(N * T, D), w, b)
    return out.reshape(N, T, w.shape[1]), cache


def temporal_affine_backward(dout, cache):
    """dout (N, T, M) -> (dx (N, T, D), dw (D, M), db (M,)); sums over N and T."""
    M = cache.w.shape[1]
    N, T = ShapeChecker(M=M)("dout", dout, "NTM").shape[:2]
    if N * T != cache.x.shape[0]:
        raise ValueError(
            f"dout: expected N*T = {cache.x.shape[0]} rows as in the forward, got {N}*{T}"
        )
    dx, dw, db = _affine_backward(dout.reshape(N * T, M), cache)
    return dx.reshape(N, T, cache.x.shape[1]), dw, db
