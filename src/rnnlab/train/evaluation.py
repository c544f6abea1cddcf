"""Held-out loss: over connected batches (validation during training), and over every
token of a text (``rnnlab eval``)."""
import numpy as np

from ..data.batching import RELEASE_EVERY, release_pages, token_ids
from ..functional.losses import token_softmax_loss


def evaluate_loss(model, batches, max_batches=None):
    """The mean loss of ``model`` over ``batches`` (a batcher; the first ``max_batches``
    when given), in inference mode, from zero states: connected batches carry the
    state through the whole split."""
    model.reset_states()
    losses = [model.evaluate(*batch) for _, batch in zip(range(max_batches or len(batches)),
                                                          batches.batches(0))]
    return float(np.mean(losses))


def evaluate_tokens(model, ids, rows=32, seq_length=100):
    """The mean loss of a language model over every prediction in ``ids``: all
    n - 1 next tokens, none dropped -> (mean loss in nats per token, n - 1).

    The n - 1 predictions are cut into R = min(rows, (n - 1) // seq_length) rows
    of L = (n - 1) // R consecutive ones, each row read from a zero state in chunks of
    ``seq_length`` steps (the last chunk shorter) with its state carried along; the
    r = (n - 1) - R L predictions left over continue the last row from its state:

        loss = (1 / (n - 1)) sum_k  N_k T_k loss_k      over the chunks k (N_k x T_k)
    """
    ids = token_ids(ids)  # a memmap is read chunk by chunk
    count = len(ids) - 1
    if count < 1:
        raise ValueError(f"ids: expected at least 2 tokens, got {len(ids)}")
    R = max(1, min(rows, count // seq_length))
    L = count // R
    x, y = ids[: R * L].reshape(R, L), ids[1 : R * L + 1].reshape(R, L)  # (R, L)
    total, states = 0.0, None
    with model.inference(caches=False):
        for k, start in enumerate(range(0, L, seq_length)):
            loss, states = _chunk_loss(model, x[:, start : start + seq_length],
                                       y[:, start : start + seq_length], states)
            total += loss
            if k % RELEASE_EVERY == RELEASE_EVERY - 1:
                release_pages(ids)
        if R * L < count:  # the tail continues the last row
            loss, _ = _chunk_loss(model, ids[None, R * L : count], ids[None, R * L + 1 :],
                                  _rows(states, slice(R - 1, R)))
            total += loss
    return total / count, count


def _chunk_loss(model, x, y, states):
    """-> (summed loss of the chunk x, y (N, T) from ``states``, the states after it)."""
    x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
    scores, states = model.forward_from(x, states)  # (N, T, V)
    loss, _ = token_softmax_loss(scores, y, overwrite=True)
    return loss * x.size, states


def _rows(states, rows):
    """The rows ``rows`` of every state array in a nest of lists and tuples."""
    if isinstance(states, (list, tuple)):
        return type(states)(_rows(s, rows) for s in states)
    return None if states is None else states[rows]
