"""Tools for checking gradients, for the project's tests and for users' own cells.

    numerical_gradient(f, x, df)  central differences of sum(f(x) * df) w.r.t. x
    rel_error(a, b)               max|a - b| / max(max|a|, max|b|)
    model_gradient_errors(model, loss)  that check for every parameter of a model
"""
import numpy as np


def numerical_gradient(f, x, df, h=1e-5):
    """Gradient of ``sum(f(x) * df)`` with respect to ``x`` by central differences.

    ``f`` maps ``x`` to an array, or to a tuple of arrays with ``df`` a tuple of the
    same length (e.g. the outputs and the final state of a cell). ``x`` is perturbed
    in place, one element at a time, and restored. Use float64.

        grad[k] = (L(x + h e_k) - L(x - h e_k)) / (2 h),   L(x) = sum_j <f_j(x), df_j>
    """
    outputs_are_tuple = isinstance(df, tuple)

    def weighted_sum():
        out = f(x)
        pairs = zip(out, df) if outputs_are_tuple else [(out, df)]
        return sum(float(np.sum(np.asarray(o) * d)) for o, d in pairs)

    grad = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for k in range(flat_x.size):
        flat_grad[k] = _central_difference(weighted_sum, flat_x, k, h)
    return grad


def _central_difference(loss, flat, k, h):
    """(loss(flat + h e_k) - loss(flat - h e_k)) / (2 h), flat[k] restored afterwards."""
    saved = flat[k]
    flat[k] = saved + h
    plus = loss()
    flat[k] = saved - h
    minus = loss()
    flat[k] = saved
    return (plus - minus) / (2 * h)


def rel_error(a, b):
    """Relative error of two arrays in the max norm: max|a - b| / max(max|a|, max|b|).

    0 for two all-zero arrays; shapes must agree.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max(), np.abs(b).max())
    return float(np.abs(a - b).max() / scale) if scale > 0 else 0.0


def model_gradient_errors(model, loss, num_checks=None, h=1e-5, seed=0):
    """Relative error of each of a model's analytic gradients against central differences.

    ``model`` has ``params`` and ``grads`` (dicts with the same keys); its grads must
    already hold the gradient of ``loss`` (zero them, run forward and backward).
    ``loss()`` runs the forward on the current parameters and returns a float; keep
    the model in inference mode (no dropout) and in float64. ``num_checks``: perturb
    that many random entries of each array instead of all of them.
    -> name -> relative error (max norm over the checked entries).

        numeric[k] = (loss(p + h e_k) - loss(p - h e_k)) / (2 h)
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for name, p in model.params.items():
        flat = p.reshape(-1)
        if num_checks is None or num_checks >= flat.size:
            entries = np.arange(flat.size)
        else:
            entries = rng.choice(flat.size, num_checks, replace=False)
        numeric = np.array([_central_difference(loss, flat, k, h) for k in entries])
        errors[name] = rel_error(numeric, model.grads[name].reshape(-1)[entries])
    return errors
