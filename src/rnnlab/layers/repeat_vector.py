"""RepeatVector: one vector per sequence, repeated n times (one-to-many models).

    x (N, D) -> y (N, n, D), y[:, t] = x;   backward: dx = sum_t dy[:, t]
"""
import numpy as np

from .base import Layer, check_positive_int, check_rank


class RepeatVector(Layer):
    def __init__(self, n, name=None):
        super().__init__(name)
        self.n = check_positive_int("n", n)

    def output_shape(self, input_shape):
        return (self.n,) + input_shape

    def output_mask(self, mask):
        return None

    def forward(self, x, mask=None):
        check_rank("x", x, {2: "(N, D)"})
        self.ensure_built(x)
        return np.repeat(x[:, None], self.n, axis=1)

    def backward(self, dy):
        return dy.sum(axis=1)
