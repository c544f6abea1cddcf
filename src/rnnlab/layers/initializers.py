"""Weight initialisers, as Keras names and defines them.

    glorot_uniform:  U(-l, l), l = sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
    orthogonal:      Q of the QR decomposition of a Gaussian matrix, signs fixed by
                     diag(R) (Saxe et al. 2014); rows orthonormal when the matrix is wide
    uniform:         U(-0.05, 0.05) (Keras' Embedding default)
    normal:          N(0, 1) (PyTorch's Embedding default)
"""
import numpy as np


def glorot_uniform(rng, shape, dtype):
    fan_in, fan_out = shape[0], shape[-1]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(rng, shape, dtype):
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)  # q (max, min) with orthonormal columns
    q *= np.sign(np.diag(r))
    return np.ascontiguousarray(q if rows >= cols else q.T).astype(dtype)


def uniform(rng, shape, dtype, limit=0.05):
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def zeros(rng, shape, dtype):
    return np.zeros(shape, dtype=dtype)
