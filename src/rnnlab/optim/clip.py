"""Global-norm gradient clipping, with TF clip_by_global_norm semantics."""


import math

import numpy as np


def global_norm(arrays):
    """sqrt(sum_k ||a_k||^2) over the arrays of a dict, one pass each, no temporaries."""
    return math.sqrt(sum(float(np.vdot(a, a)) for a in arrays.values()))


def clip_factor(grads, max_norm, scale=1.0):
    """-> (norm, factor): the joint L2 norm of ``scale`` times ``grads`` (name -> array)
    and the factor that takes ``grads`` to those gradients clipped to ``max_norm``
    (``Optimizer.step(params, grads, factor)`` applies it without a pass of its own).

        norm = scale sqrt(sum_k ||g_k||^2);   factor = scale max_norm / max(norm, max_norm)
    """
    norm = scale * global_norm(grads)
    return norm, scale * min(1.0, max_norm / norm) if norm > 0 else scale


def clip_global_norm(grads, max_norm, scale=1.0):
    """Scale every array of ``grads`` in place by ``clip_factor``: their joint L2 norm
    becomes at most ``max_norm`` (after multiplying by ``scale``); returns the norm
    before clipping."""
    norm, factor = clip_factor(grads, max_norm, scale)
    if factor != 1.0:
        for g in grads.values():
            g *= factor
    return norm
