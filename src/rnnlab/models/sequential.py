"""Sequential: a stack of layers, each feeding the next, as Keras' Sequential.

    model = Sequential([Embedding(V, 64, mask_zero=True), LSTM(128, return_sequences=True),
                        TimeDistributed(Dense(V))], seed=0)
    scores = model.forward(ids)            # masks flow from Embedding(mask_zero) down
    model.backward(dscores)                # grads accumulate; model.zero_grad() clears
    model.params, model.grads              # "lstm/Wx" -> array, the layers' own arrays
"""
import numpy as np

from ..layers.alignment import check_lengths, lengths_to_mask
from ..layers.base import Layer
from .base import Model, unique_names


class Sequential(Model):
    def __init__(self, layers, input_shape=None, dtype=None, seed=None, name="sequential"):
        layers = list(layers)
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"layers[{k}]: expected an rnnlab layer, got {type(layer).__name__}")
            if getattr(layer, "return_state", False):
                raise ValueError(f"layers[{k}]: {layer.name} has return_state=True; a Sequential "
                                 f"passes one array between layers (call the layer directly)")
        self.layers, self.name = layers, name
        if dtype is None:  # built layers (e.g. from_torch's) give theirs; else float32
            dtype = next((layer.dtype for layer in layers if layer.built), np.float32)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.rng = np.random.default_rng(seed)
        unique_names(layers)
        self.built = False
        if input_shape is not None:
            self.build(input_shape)

    def build(self, input_shape):
        """Create every layer's parameters for inputs of ``input_shape`` (no batch axis;
        None for a length that varies), e.g. ``(None,)`` for token ids."""
        shape = tuple(input_shape)
        for layer in self.layers:
            if layer.built:  # as Keras: a built layer keeps its weights (e.g. from_torch's)
                if layer.input_shape[-1:] != shape[-1:] or layer.dtype != self.dtype:
                    raise ValueError(f"{layer.name}: built for inputs (..., {layer.input_shape[-1]}) "
                                     f"of {layer.dtype}, here (..., {shape[-1]}) of {self.dtype}")
                shape = tuple(layer.output_shape(shape))
            else:
                shape = tuple(layer.build(shape, self.dtype, self.rng))
        self.input_shape, self.built = tuple(input_shape), True

    def forward(self, x, mask=None, lengths=None):
        """x (N, T, ...) -> the last layer's output. ``mask`` (N, T) or ``lengths`` (N,)
        mark each sequence's valid steps (an Embedding with mask_zero makes its own)."""
        x = np.asarray(x)
        if np.issubdtype(x.dtype, np.floating) and x.dtype != self.dtype:
            x = x.astype(self.dtype)  # as Keras: inputs take the model's dtype
        if not self.built:
            self.build(x.shape[1:])
        if lengths is not None:
            if mask is not None:
                raise ValueError("mask, lengths: expected at most one of them, got both")
            mask = lengths_to_mask(check_lengths(lengths, *x.shape[:2]), x.shape[1])
        for layer in self.layers:
            x = layer.forward(x, mask=mask) if layer.supports_masking and mask is not None \
                else layer.forward(x)
            mask = layer.output_mask(mask)
        self.output_mask = mask
        return x

    def backward(self, dout):
        """Gradient on the output -> gradient on the input (None for token ids); every
        layer's grads accumulate."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
