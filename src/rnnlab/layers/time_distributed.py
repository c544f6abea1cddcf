"""TimeDistributed(layer): the same layer at every step, batch and time folded together.

    x (N, T, ...) -> layer(x reshaped to (N*T, ...)) -> y (N, T, ...)
"""
from .base import Layer, check_rank


class TimeDistributed(Layer):
    supports_masking = True

    def __init__(self, layer, name=None):
        if not isinstance(layer, Layer):
            raise ValueError(f"layer: expected an rnnlab layer, got {type(layer).__name__}")
        super().__init__(name)
        self.layer = layer

    def build(self, input_shape, dtype=None, rng=None):
        out = self.layer.build(tuple(input_shape[1:]), dtype or self.dtype, rng)
        self.built, self.dtype, self.input_shape = True, self.layer.dtype, tuple(input_shape)
        return (input_shape[0],) + tuple(out)

    def sublayers(self):
        return [self.layer]

    def output_shape(self, input_shape):
        return (input_shape[0],) + tuple(self.layer.output_shape(tuple(input_shape[1:])))

    def forward(self, x, mask=None):
        check_rank("x", x, {3: "(N, T, D)", 4: "(N, T, ...)"})
        self.ensure_built(x)
        N, T = x.shape[:2]
        y = self.layer.forward(x.reshape((N * T,) + x.shape[2:]))
        return y.reshape((N, T) + y.shape[1:])

    def backward(self, dy):
        N, T = dy.shape[:2]
        dx = self.layer.backward(dy.reshape((N * T,) + dy.shape[2:]))
        return dx.reshape((N, T) + dx.shape[1:])
