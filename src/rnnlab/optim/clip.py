"""Global-norm gradient clipping, with TF clip_by_global_norm semantics."""


def clip_global_norm(grads, max_norm):
    """Scale every array of ``grads`` (name -> array) in place so that their joint L2
    norm is at most ``max_norm``; returns the norm before clipping.

        norm = sqrt(sum_k ||g_k||^2);   g_k *= max_norm / max(norm, max_norm)
    """
    norm = sum(float((g * g).sum()) for g in grads.values()) ** 0.5
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm
