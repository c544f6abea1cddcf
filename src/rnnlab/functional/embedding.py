"""Embedding: integer ids -> rows of a (V, D) matrix.

Tests: tests/test_functional_misc.py (finite differences, scatter-add).
"""
from dataclasses import dataclass

from .backend import array_module
from .checks import ShapeChecker, check_ids


@dataclass(frozen=True)
class EmbeddingCache:
    ids: object  # integer array of any shape, e.g. (N, T)
    W: object  # (V, D)


def embedding_forward(ids, W):
    """ids (any shape, e.g. (N, T)) of integers in [0, V), W (V, D) -> out (..., D) = W[ids]."""
    ShapeChecker()("W", W, "VD")
    xp = array_module(ids, W)
    ids = xp.asarray(ids)
    check_ids("ids", ids, W.shape[0])
    return W[ids], EmbeddingCache(ids, W)


def embedding_backward(dout, cache):
    """dout (..., D) -> dW (V, D).

    out[k] = W[ids[k]]  =>  dW[v] = sum_{k: ids[k] = v} dout[k]   (scatter-add:
    an id used twice receives both gradients).
    """
    xp = array_module(dout)
    V, D = cache.W.shape
    if dout.shape != cache.ids.shape + (D,):
        raise ValueError(f"dout: expected shape {cache.ids.shape + (D,)}, got {dout.shape}")
    dW = xp.zeros((V, D), dtype=dout.dtype)
    xp.add.at(dW, cache.ids.reshape(-1), dout.reshape(-1, D))
    return dW
