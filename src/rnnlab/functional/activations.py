"""Numerically stable activations.

None of them overflows or returns NaN for |x| up to 1e4 (or any finite x):

    sigmoid(x)     = 1 / (1 + exp(-x)) = 0.5 + 0.5 tanh(x / 2)
    softmax(x)_j   = exp(x_j - m) / sum_k exp(x_k - m),       m = max_k x_k
    log_softmax(x) = (x - m) - log(sum_k exp(x_k - m))

The tanh form of the sigmoid never exponentiates, so it cannot overflow; its error
is absolute (about one ulp of 1), which is what gate arithmetic needs.

Tests: tests/test_functional_misc.py (stability, saturation),
tests/test_torch_crosscheck.py (PyTorch), tests/test_properties.py.
"""
from .backend import array_module


def sigmoid(x, out=None):
    """Logistic sigmoid, elementwise; ``out`` may be ``x`` for an in-place update."""
    xp = array_module(x)
    out = xp.multiply(x, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh(x, out=None):
    """Hyperbolic tangent, elementwise."""
    return array_module(x).tanh(x, out=out)


def relu(x, out=None):
    """max(x, 0), elementwise."""
    return array_module(x).maximum(x, 0, out=out)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed without exponentiating a large number."""
    xp = array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``; rows sum to one."""
    xp = array_module(x)
    probs = xp.exp(x - x.max(axis=axis, keepdims=True))
    probs /= probs.sum(axis=axis, keepdims=True)
    return probs
