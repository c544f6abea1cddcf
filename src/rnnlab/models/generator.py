"""SequenceGenerator (one-to-many): one vector -> a sequence of ``steps`` outputs.

    Dense(H, tanh) -> RepeatVector(steps) -> recurrent stack -> TimeDistributed(Dense(M))

The loss is the mean squared error against target sequences (N, steps, M).
"""
import numpy as np

from ..functional.losses import mean_squared_error
from ..layers import Dense, RepeatVector, TimeDistributed
from ..layers.base import check_positive_int
from .base import Model
from .sequential import Sequential
from .stack import recurrent_stack


class SequenceGenerator(Model):
    name = "sequence_generator"

    def __init__(self, output_dim, steps, input_dim=None, hidden_size=64, num_layers=1,
                 cell="lstm", dtype="float32", seed=None, **cell_options):
        self.config = dict(output_dim=output_dim, steps=steps, input_dim=input_dim,
                           hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, dtype=str(np.dtype(dtype)),
                           **cell_options)
        check_positive_int("output_dim", output_dim)
        layers = [Dense(hidden_size, activation="tanh"), RepeatVector(steps)]
        layers += recurrent_stack(cell, hidden_size, num_layers, **cell_options)
        layers.append(TimeDistributed(Dense(output_dim)))
        self.net = Sequential(layers, input_shape=None if input_dim is None else (input_dim,),
                              dtype=dtype, seed=seed, name=self.name)
        self.layers = self.net.layers

    def forward(self, x):
        """x (N, D) -> sequences (N, steps, M)."""
        return self.net.forward(x)

    def backward(self, dy):
        return self.net.backward(dy)

    def _loss(self, x, target):
        """-> the mean squared error, and its backprop."""
        loss, dy = mean_squared_error(self.forward(x), target)
        return loss, lambda: self.backward(dy)

    def predict(self, x):
        with self.inference(caches=False):
            return self.forward(x)
