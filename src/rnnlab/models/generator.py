"""SequenceGenerator (one-to-many): one vector -> a sequence of ``steps`` outputs.

    Dense(H, tanh) -> RepeatVector(steps) -> recurrent stack -> TimeDistributed(Dense(M))

The loss is the mean squared error against target sequences (N, steps, M).
"""
from ..functional.losses import mean_squared_error
from ..layers import Dense, RepeatVector, TimeDistributed
from ..layers.base import check_positive_int
from .base import Model
from .sequential import Sequential
from .stack import recurrent_stack


class SequenceGenerator(Model):
    name = "sequence_generator"

    def __init__(self, output_dim, steps, hidden_size=64, num_layers=1, cell="lstm",
                 dtype="float32", seed=None, **cell_options):
        check_positive_int("output_dim", output_dim)
        layers = [Dense(hidden_size, activation="tanh"), RepeatVector(steps)]
        layers += recurrent_stack(cell, hidden_size, num_layers, **cell_options)
        layers.append(TimeDistributed(Dense(output_dim)))
        self.net = Sequential(layers, dtype=dtype, seed=seed, name=self.name)
        self.layers = self.net.layers

    def forward(self, x):
        """x (N, D) -> sequences (N, steps, M)."""
        return self.net.forward(x)

    def backward(self, dy):
        return self.net.backward(dy)

    def loss(self, x, target):
        """Zero the gradients, forward and backward -> the mean squared error."""
        loss, dy = mean_squared_error(self.forward(x), target)
        self.zero_grad()
        self.backward(dy)
        return loss

    def predict(self, x):
        with self.inference():
            return self.forward(x)
