"""Global-norm gradient clipping, with TF clip_by_global_norm semantics."""


import math

import numpy as np


def global_norm(arrays):
    """sqrt(sum_k ||a_k||^2) over the arrays of a dict, one pass each, no temporaries."""
    return math.sqrt(sum(float(np.vdot(a, a)) for a in arrays.values()))


def clip_global_norm(grads, max_norm, scale=1.0):
    """Scale every array of ``grads`` (name -> array) in place so that their joint L2
    norm is at most ``max_norm``; returns the norm before clipping. ``scale``: the
    gradients are first multiplied by it (in the same pass as the clipping).

        norm = scale sqrt(sum_k ||g_k||^2);   g_k *= scale max_norm / max(norm, max_norm)
    """
    norm = scale * global_norm(grads)
    factor = scale * min(1.0, max_norm / norm) if norm > 0 else scale
    if factor != 1.0:
        for g in grads.values():
            g *= factor
    return norm
