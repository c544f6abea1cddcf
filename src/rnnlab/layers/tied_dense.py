"""TiedDense: the output layer of a language model that reuses the input embedding
(Press & Wolf 2017; Inan et al. 2017):

    y = x E^T + b,   E (V, D) the Embedding's matrix, x (..., D) -> y (..., V)

backward:  dE += dy^T x  (added into the Embedding's grads: E is one parameter, updated
once, receiving both its input and its output gradient);  db = sum dy;  dx = dy E.
Only b is this layer's own parameter.
"""
from ..functional.backend import gemm
from .base import Layer, check_rank
from .embedding import Embedding
from .initializers import zeros


class TiedDense(Layer):
    supports_masking = True  # steps are independent: the mask passes through

    def __init__(self, embedding, name=None):
        if not isinstance(embedding, Embedding):
            raise ValueError(f"embedding: expected an rnnlab Embedding, got {type(embedding).__name__}")
        super().__init__(name)
        self.embedding = embedding  # not a sublayer: its parameters belong to it alone

    def _make_params(self, input_shape):
        D = self.embedding.output_dim
        if input_shape[-1] != D:
            raise ValueError(f"tied weights: the layer below gives {input_shape[-1]} features, "
                             f"the embedding has {D}; they must be equal")
        return {"b": zeros(self.rng, (self.embedding.input_dim,), self.dtype)}

    def output_shape(self, input_shape):
        return input_shape[:-1] + (self.embedding.input_dim,)

    def forward(self, x, mask=None):
        """x (..., D) -> scores (..., V)."""
        check_rank("x", x, {2: "(N, D)", 3: "(N, T, D)"})
        self.ensure_built(x)
        self._x = x
        y = gemm(x, self.embedding.params["W"].T)
        y += self.params["b"]
        return y

    def backward(self, dy):
        E = self.embedding.params["W"]
        V, D = E.shape
        x2, dy2 = self._x.reshape(-1, D), dy.reshape(-1, V)
        self.embedding.grads["W"] += gemm(dy2.T, x2)
        self.grads["b"] += dy2.sum(axis=0)
        return gemm(dy2, E).reshape(self._x.shape)
