"""SequenceClassifier (many-to-one): a sequence -> one of C classes.

    [Embedding(V, E, mask_zero=True) if vocab_size, else features of input_dim]
    -> recurrent stack (optionally
    bidirectional; the last layer returns its final state) -> Dense(C) scores

Variable lengths come from padding id 0 (token input) or from ``mask``/``lengths``.
"""
import numpy as np

from ..functional.losses import softmax_loss
from ..layers import Dense, Embedding
from ..layers.base import check_positive_int
from .base import Model
from .sequential import Sequential
from .stack import recurrent_stack


class SequenceClassifier(Model):
    name = "sequence_classifier"

    def __init__(self, num_classes, vocab_size=None, input_dim=None, embedding_dim=32,
                 hidden_size=64, num_layers=1, cell="lstm", bidirectional=False, dropout=0.0,
                 dtype="float32", seed=None, **cell_options):
        self.config = dict(num_classes=num_classes, vocab_size=vocab_size, input_dim=input_dim,
                           embedding_dim=embedding_dim, hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, bidirectional=bidirectional,
                           dropout=dropout, dtype=str(np.dtype(dtype)), **cell_options)
        self.num_classes = check_positive_int("num_classes", num_classes)
        layers = [] if vocab_size is None else [Embedding(vocab_size, embedding_dim, mask_zero=True)]
        layers += recurrent_stack(cell, hidden_size, num_layers, dropout, bidirectional,
                                  return_sequences=False, **cell_options)
        layers.append(Dense(num_classes))
        input_shape = (None,) if vocab_size else None if input_dim is None else (None, input_dim)
        self.net = Sequential(layers, input_shape=input_shape, dtype=dtype, seed=seed, name=self.name)
        self.layers = self.net.layers

    def forward(self, x, mask=None, lengths=None):
        """x (N, T) ids or (N, T, D) features -> scores (N, C)."""
        return self.net.forward(x, mask=mask, lengths=lengths)

    def backward(self, dscores):
        return self.net.backward(dscores)

    def _loss(self, x, y, mask=None, lengths=None):
        """-> mean cross-entropy over the batch, and its backprop."""
        loss, dscores = softmax_loss(self.forward(x, mask, lengths), np.asarray(y))
        return loss, lambda: self.backward(dscores)

    def predict(self, x, mask=None, lengths=None):
        """The most probable class of each sequence, (N,)."""
        with self.inference(caches=False):
            return self.forward(x, mask, lengths).argmax(axis=1)
