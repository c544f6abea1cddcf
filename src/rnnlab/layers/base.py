"""The layer protocol every layer follows.

A layer holds ``params`` and ``grads``: dicts of arrays with the same keys. It is
built on the first input it sees (or by ``build``), like a Keras layer, so that
``LSTM(256)`` needs no input size. ``forward`` caches what ``backward`` needs;
``backward`` *adds* into ``grads`` (zero them with ``zero_grad``) and returns the
gradient on the input. Shapes: batch-first, N batch, T time, D features.
"""
import re

import numpy as np


class Layer:
    """Base class: parameters, building, training mode, masks and shapes."""

    supports_masking = False  # forward takes mask= (N, T)

    def __init__(self, name=None):
        self.name = name or _snake_case(type(self).__name__)
        self.params, self.grads = {}, {}
        self.built = False
        self.training = True
        self.dtype = np.dtype(np.float32)
        self.rng = np.random.default_rng()
        self.row_shard = None  # (start, stop, total): this process's rows of a global batch

    def dropout_mask(self, shape, rate, dtype=None, row_axis=0):
        """An inverted dropout mask (``dropout_mask``) from this layer's generator; with a
        ``row_shard`` (data-parallel training) drawn for all ``total`` rows of the global
        batch and cut to this process's, so every process draws what one would."""
        dtype = np.dtype(dtype or self.dtype)
        if self.row_shard is None:
            return dropout_mask(self.rng, shape, rate, dtype)
        start, stop, total = self.row_shard
        whole = dropout_mask(self.rng, shape[:row_axis] + (total,) + shape[row_axis + 1:], rate, dtype)
        return whole[(slice(None),) * row_axis + (slice(start, stop),)]

    def build(self, input_shape, dtype=np.float32, rng=None):
        """Create the parameters for inputs of ``input_shape`` (without the batch axis;
        None for an unknown length). -> the output shape (without the batch axis)."""
        self.dtype = np.dtype(dtype)
        self.input_shape = tuple(input_shape)
        if rng is not None:
            self.rng = rng
        self.params = self._make_params(tuple(input_shape))
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.built = True
        return self.output_shape(tuple(input_shape))

    def _make_params(self, input_shape):
        """name -> array for inputs of ``input_shape``; parameter-free layers have none."""
        return {}

    def ensure_built(self, x):
        if not self.built:
            dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else self.dtype
            self.build(x.shape[1:], dtype)

    def output_shape(self, input_shape):
        return input_shape

    def output_mask(self, mask):
        """The (N, T) mask of this layer's output, given its input's."""
        return mask

    def sublayers(self):
        """Layers held inside this one (wrappers); each keeps its own params."""
        return []

    def walk(self):
        """This layer, then every layer inside it, depth first."""
        yield self
        for layer in self.sublayers():
            yield from layer.walk()

    def named_params(self, prefix=""):
        """(path, array) for every parameter here and inside, e.g. ``"lstm/Wx"``; the
        arrays themselves (an optimizer updating them updates the layer)."""
        return _named(self, prefix, "params")

    def named_grads(self, prefix=""):
        return _named(self, prefix, "grads")

    def zero_grad(self):
        for layer in self.walk():
            for g in layer.grads.values():
                g[...] = 0

    def count_params(self):
        return sum(p.size for layer in self.walk() for p in layer.params.values())

    def set_training(self, training):
        """Training mode (dropout on) or inference mode, for this layer and those inside."""
        for layer in self.walk():
            layer.training = bool(training)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _named(layer, prefix, attribute):
    path = f"{prefix}{layer.name}/"
    named = {path + key: a for key, a in getattr(layer, attribute).items()}
    for inner in layer.sublayers():
        named.update(_named(inner, path, attribute))
    return named


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def check_rank(name, x, ranks):
    """An array whose ndim is one of ``ranks`` (e.g. {3: "(N, T, D)"})."""
    if not hasattr(x, "ndim") or x.ndim not in ranks:
        expected = " or ".join(ranks.values())
        got = f"shape {tuple(x.shape)}" if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"{name}: expected an array of shape {expected}, got {got}")
    return x


def check_fraction(name, p):
    if not 0 <= p < 1:
        raise ValueError(f"{name}: expected a fraction in [0, 1), got {p!r}")
    return p


def check_positive_int(name, n):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name}: expected a positive integer, got {n!r}")
    return int(n)


def dropout_mask(rng, shape, rate, dtype):
    """Inverted dropout: 0 with probability ``rate``, else 1 / (1 - rate)."""
    return (rng.random(shape) >= rate).astype(dtype) / dtype.type(1 - rate)
