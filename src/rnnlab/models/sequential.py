"""Sequential: a stack of layers, each feeding the next, as Keras' Sequential.

    model = Sequential([Embedding(V, 64, mask_zero=True), LSTM(128, return_sequences=True),
                        TimeDistributed(Dense(V))], seed=0)
    scores = model.forward(ids)            # masks flow from Embedding(mask_zero) down
    model.backward(dscores)                # grads accumulate; model.zero_grad() clears
    model.params, model.grads              # "lstm/Wx" -> array, the layers' own arrays
"""
import numpy as np

from ..layers.alignment import lengths_to_mask
from ..layers.base import Layer


class Sequential:
    def __init__(self, layers, input_shape=None, dtype="float32", seed=None, name="sequential"):
        layers = list(layers)
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"layers[{k}]: expected an rnnlab layer, got {type(layer).__name__}")
            if getattr(layer, "return_state", False):
                raise ValueError(f"layers[{k}]: {layer.name} has return_state=True; a Sequential "
                                 f"passes one array between layers (call the layer directly)")
        self.layers, self.name = layers, name
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.rng = np.random.default_rng(seed)
        _unique_names(layers)
        self.built, self.output_shapes = False, None
        if input_shape is not None:
            self.build(input_shape)

    def build(self, input_shape):
        """Create every layer's parameters for inputs of ``input_shape`` (no batch axis;
        None for a length that varies), e.g. ``(None,)`` for token ids."""
        shape, self.output_shapes = tuple(input_shape), []
        for layer in self.layers:
            shape = tuple(layer.build(shape, self.dtype, self.rng))
            self.output_shapes.append(shape)
        self.input_shape, self.built = tuple(input_shape), True

    def forward(self, x, mask=None, lengths=None):
        """x (N, T, ...) -> the last layer's output. ``mask`` (N, T) or ``lengths`` (N,)
        mark each sequence's valid steps (an Embedding with mask_zero makes its own)."""
        x = np.asarray(x)
        if not self.built:
            self.build(x.shape[1:])
        if lengths is not None:
            if mask is not None:
                raise ValueError("mask, lengths: expected at most one of them, got both")
            lengths = np.asarray(lengths)
            if lengths.shape != x.shape[:1] or not np.issubdtype(lengths.dtype, np.integer):
                raise ValueError(f"lengths: expected {x.shape[0]} integers (one per sequence), "
                                 f"got {lengths.dtype} array of shape {lengths.shape}")
            mask = lengths_to_mask(lengths, x.shape[1])
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

    @property
    def params(self):
        """Path -> array for every parameter, e.g. ``"bidirectional_lstm/forward_lstm/Wx"``."""
        return {k: v for layer in self.layers for k, v in layer.named_params().items()}

    @property
    def grads(self):
        return {k: v for layer in self.layers for k, v in layer.named_grads().items()}

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def train(self, training=True):
        """Training mode (dropout on); ``eval()`` for inference. Returns the model."""
        for layer in self.layers:
            layer.set_training(training)
        return self

    def eval(self):
        return self.train(False)

    def reset_states(self):
        """Forget the carried state of every stateful layer."""
        for layer in self.layers:
            for inner in layer.walk():
                if hasattr(inner, "reset_states"):
                    inner.reset_states()

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print):
        """Print (and return) the layers, their output shapes and parameter counts, as
        Keras does; needs the model built (``build(input_shape)`` or one forward)."""
        if not self.built:
            raise ValueError(f"summary: the model is not built yet; call build(input_shape) "
                             f"(e.g. build((None,)) for token ids) or run forward once")
        widths = (36, 26, 12)
        row = lambda cells: "".join(str(c).ljust(w - 1) + " " for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        rule = "_" * sum(widths)
        lines = [f'Model: "{self.name}"', rule, row([" Layer (type)", "Output Shape", "Param #"]),
                 "=" * sum(widths)]
        for layer, shape in zip(self.layers, self.output_shapes):
            lines.append(row([f" {layer.name} ({type(layer).__name__})", _shape_text(shape),
                              f"{layer.count_params():,}"]))
        total = self.count_params()
        lines += ["=" * sum(widths), f"Total params: {total:,}", f"Trainable params: {total:,}",
                  "Non-trainable params: 0", rule]
        text = "\n".join(lines)
        print_fn(text)
        return text


def _shape_text(shape):
    if shape and isinstance(shape[0], (tuple, list)):
        return ", ".join(_shape_text(s) for s in shape)
    return str((None,) + tuple(shape)).replace(",)", ")")


def _unique_names(layers):
    """Keras' naming: the second LSTM is lstm_1, the third lstm_2."""
    seen = {}
    for layer in layers:
        base = layer.name
        count = seen.get(base, 0)
        seen[base] = count + 1
        if count:
            layer.name = f"{base}_{count}"
