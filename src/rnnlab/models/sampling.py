"""Choosing the next token from scores: temperature, top-k and nucleus (top-p).

    p = softmax((scores - max scores) / temperature) (temperature 0: the argmax)
    exclude: ids never drawn (their score set to -inf first), e.g. <null> and <unk>
    top_k:  keep the k most probable tokens, renormalise
    top_p:  keep the smallest set of most probable tokens whose mass reaches p
            (Holtzman et al. 2020), renormalise
"""
import numpy as np

from ..functional.activations import softmax


def check_sampling(temperature, top_k, top_p):
    if not temperature >= 0:
        raise ValueError(f"temperature: expected a number >= 0, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"top_k: expected a positive integer or None, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p: expected a number in (0, 1] or None, got {top_p!r}")


def next_token_probabilities(scores, temperature=1.0, top_k=None, top_p=None, exclude=()):
    """scores (N, V) -> probabilities (N, V) after temperature, top-k and top-p. The
    scores are shifted to a maximum of 0 before the division, so that a temperature as
    small as 1e-320 gives the argmax's limit, not inf - inf."""
    check_sampling(temperature, top_k, top_p)
    scores = np.array(scores, dtype=np.float64)  # a copy: excluded ids are overwritten
    N, V = scores.shape
    scores[:, list(exclude)] = -np.inf
    if temperature == 0:
        probs = np.zeros((N, V))
        probs[np.arange(N), scores.argmax(axis=1)] = 1
        return probs
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        shifted = (scores - scores.max(axis=1, keepdims=True)) / temperature  # (N, V), <= 0
    probs = softmax(np.where(np.isnan(shifted), -np.inf, shifted))
    if top_k is None and top_p is None:
        return probs
    order = np.argsort(-probs, axis=1, kind="stable")  # most probable first
    ranked = np.take_along_axis(probs, order, axis=1)
    keep = np.ones((N, V), bool)
    if top_k is not None:
        keep[:, top_k:] = False
    if top_p is not None:
        mass_before = np.cumsum(ranked, axis=1) - ranked
        keep &= mass_before < top_p  # the token that crosses p is kept
    ranked = np.where(keep, ranked, 0)
    probs = np.zeros_like(probs)
    np.put_along_axis(probs, order, ranked / ranked.sum(axis=1, keepdims=True), axis=1)
    return probs


def sample_next(scores, rng, temperature=1.0, top_k=None, top_p=None, exclude=()):
    """One token id per row of scores (N, V), drawn with ``rng`` -> (N,) int array."""
    probs = next_token_probabilities(scores, temperature, top_k, top_p, exclude)
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
    return np.minimum((cumulative <= u).sum(axis=1), probs.shape[1] - 1)
