"""Dense: an affine map on the last axis, with an optional pointwise activation.

    y = act(x W + b),   x (..., D), W (D, M), b (M,) -> y (..., M)

Keras' initialisation: W Glorot-uniform, b zeros.
"""
from ..functional.backend import gemm
from ..functional.gate_activations import gate_activation
from .base import Layer, check_positive_int, check_rank
from .initializers import glorot_uniform, zeros


DENSE_ACTIVATIONS = ("relu", "sigmoid", "tanh")


class Dense(Layer):
    supports_masking = True  # steps are independent: the mask passes through

    def __init__(self, units, activation=None, use_bias=True, name=None):
        super().__init__(name)
        self.units = check_positive_int("units", units)
        if activation is not None and activation not in DENSE_ACTIVATIONS:
            raise ValueError(f"activation: expected None or one of "
                             f"{list(DENSE_ACTIVATIONS)}, got {activation!r}")
        self.activation, self.use_bias = activation, use_bias
        self._act = None if activation is None else gate_activation(activation)

    def _make_params(self, input_shape):
        D = input_shape[-1]
        params = {"W": glorot_uniform(self.rng, (D, self.units), self.dtype)}
        if self.use_bias:
            params["b"] = zeros(self.rng, (self.units,), self.dtype)
        return params

    def output_shape(self, input_shape):
        return input_shape[:-1] + (self.units,)

    def forward(self, x, mask=None):
        """x (..., D) -> y (..., M)."""
        check_rank("x", x, {2: "(N, D)", 3: "(N, T, D)"})
        self.ensure_built(x)
        W = self.params["W"]
        if x.shape[-1] != W.shape[0]:
            raise ValueError(f"x: expected last axis D = {W.shape[0]}, got shape {x.shape}")
        self._x = x
        y = gemm(x, W)  # (..., M)
        if self.use_bias:
            y += self.params["b"]
        if self.activation is not None:  # keep y for the backward (and then only)
            y = self._act(y, out=y)
        self._y = y if self.activation is not None else None
        return y

    def backward(self, dy):
        """dy (..., M) -> dx (..., D).   da = dy * act'(a) (from y: tanh 1 - y^2, sigmoid
        y (1 - y), relu [y > 0]);  dW = x^T da;  db = sum da;  dx = da W^T."""
        da = dy if self.activation is None else dy * self._act.derivative(None, self._y)
        D, M = self.params["W"].shape
        x2, da2 = self._x.reshape(-1, D), da.reshape(-1, M)
        self.grads["W"] += gemm(x2.T, da2)
        if self.use_bias:
            self.grads["b"] += da2.sum(axis=0)
        return gemm(da2, self.params["W"].T).reshape(self._x.shape)
