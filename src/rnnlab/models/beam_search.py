"""Beam search over a step function (Graves 2012; the GNMT length penalty of Wu et al. 2016).

Keep the ``beam_width`` best unfinished hypotheses by total log-probability; a
hypothesis that emits ``end_id`` is finished. The answer is the finished hypothesis
(or, if none finished within ``max_length``, the unfinished one) with the best

    score = log p(y) / lp(y),   lp(y) = ((5 + |y|) / 6) ** length_penalty

|y| counting the end token; length_penalty 0 ranks by log-probability alone. The
search stops when the best finished score beats every live one (exact for
length_penalty 0: extending a hypothesis only lowers its log-probability).
"""
import numpy as np


def beam_search(step, states, start_id, end_id, beam_width=4, max_length=20, length_penalty=0.6):
    """step(tokens (B,), states) -> (log-probabilities (B, V), states); ``states``: the
    initial states of one sequence, each (1, S). -> the best id list (no start, no end)."""
    if beam_width < 1 or max_length < 1:
        raise ValueError(f"beam_width, max_length: expected positive integers, got "
                         f"{beam_width}, {max_length}")
    normalise = lambda logp, length: logp / ((5 + length) / 6) ** length_penalty  # noqa: E731
    alive, scores = [[]], np.zeros(1)
    finished = []  # (normalised score, tokens)
    for _ in range(max_length):
        last = np.array([tokens[-1] if tokens else start_id for tokens in alive])
        logp, states = step(last, states)
        total = scores[:, None] + logp  # (B, V)
        order = np.argsort(-total, axis=None, kind="stable")
        keep, new_alive, new_scores = [], [], []
        for flat in order[: 2 * beam_width]:
            b, v = divmod(int(flat), total.shape[1])
            if not np.isfinite(total[b, v]):
                break
            if v == end_id:
                finished.append((normalise(total[b, v], len(alive[b]) + 1), alive[b]))
            elif len(new_alive) < beam_width:
                keep.append(b)
                new_alive.append(alive[b] + [v])
                new_scores.append(total[b, v])
        best_finished = max((s for s, _ in finished), default=-np.inf)
        if not new_alive or best_finished >= max(normalise(s, len(t))
                                                 for s, t in zip(new_scores, new_alive)):
            alive = []  # no hypothesis alive can beat the best finished one any more
            break
        alive, scores = new_alive, np.array(new_scores)
        states = [s[keep] for s in states]
    finished += [(normalise(s, len(t)), t) for s, t in zip(scores, alive)]
    return max(finished, key=lambda item: item[0])[1]
