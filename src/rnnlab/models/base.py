"""What every model shares: its layers' parameters and gradients under one dict,
training and inference modes, state resets and a Keras-style summary."""
from contextlib import contextmanager

from ..layers import Recurrent


class Model:
    """A model holds ``layers`` (an ordered list, named uniquely); subclasses wire them."""

    name = "model"

    @property
    def params(self):
        """Path -> array for every parameter, e.g. ``"lstm/Wx"`` (the layers' own arrays:
        an optimizer updating them updates the model)."""
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

    @contextmanager
    def inference(self, keep_states=False):
        """Inference mode for a while (sampling, decoding): dropout off; afterwards every
        layer's mode is restored, and so are the carried states of stateful layers unless
        ``keep_states`` (then they carry on from where inference left them)."""
        inner = [layer for top in self.layers for layer in top.walk()]
        modes = [layer.training for layer in inner]
        states = [layer.states for layer in inner if isinstance(layer, Recurrent)]
        self.eval()
        try:
            yield self
        finally:
            for layer, mode in zip(inner, modes):
                layer.training = mode
            for layer, saved in zip([x for x in inner if isinstance(x, Recurrent)], states):
                if not keep_states:
                    layer.states = saved

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
        Keras does; needs the model built (``build`` or one forward)."""
        if not all(layer.built for layer in self.layers):
            raise ValueError("summary: the model is not built yet; call build(input_shape) "
                             "(e.g. build((None,)) for token ids) or run forward once")
        widths = (36, 26, 12)
        row = lambda cells: "".join(str(c).ljust(w - 1) + " " for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        rule = "_" * sum(widths)
        lines = [f'Model: "{self.name}"', rule, row([" Layer (type)", "Output Shape", "Param #"]),
                 "=" * sum(widths)]
        for layer in self.layers:
            shape = layer.output_shape(layer.input_shape)
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


def unique_names(layers):
    """Keras' naming: the second LSTM is lstm_1, the third lstm_2."""
    seen = {}
    for layer in layers:
        base = layer.name
        count = seen.get(base, 0)
        seen[base] = count + 1
        if count:
            layer.name = f"{base}_{count}"
