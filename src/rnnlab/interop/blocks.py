"""Gate blocks: every framework stacks its gates' weights in equal blocks, each in
its own order. rnnlab: LSTM i, f, o, g; GRU r, z, n. PyTorch: LSTM i, f, g, o; GRU
r, z, n. Keras: LSTM i, f, c, o; GRU z, r, h. ONNX: LSTM i, o, f, c; GRU z, r, h."""
import numpy as np

RNNLAB_LSTM = ("i", "f", "o", "g")
RNNLAB_GRU = ("r", "z", "n")


def reorder_blocks(a, names, order, axis=-1):
    """Reorder the equal blocks of a along ``axis`` (k H long) from ``names`` to ``order``."""
    blocks = dict(zip(names, np.split(np.asarray(a), len(names), axis=axis)))
    return np.ascontiguousarray(np.concatenate([blocks[name] for name in order], axis=axis))
