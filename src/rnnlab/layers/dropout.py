"""Dropout (inverted): during training y = x * m, m = [u >= p] / (1 - p) per element;
at inference y = x. Backward: dx = dy * m."""
from .base import Layer, check_fraction


class Dropout(Layer):
    supports_masking = True

    def __init__(self, rate, name=None):
        super().__init__(name)
        self.rate = check_fraction("rate", rate)

    def forward(self, x, mask=None):
        self.ensure_built(x)
        self._keep = None
        if not self.training or self.rate == 0:
            return x
        self._keep = self.dropout_mask(x.shape, self.rate, x.dtype)
        return x * self._keep

    def backward(self, dy):
        return dy if self._keep is None else dy * self._keep
