"""What every model shares: its layers' parameters and gradients under one dict,
training and inference modes, state resets and a Keras-style summary."""
from contextlib import contextmanager

from ..layers import Recurrent


class Model:
    """A model holds ``layers`` (an ordered list, named uniquely); subclasses wire them
    and define ``_loss(*batch) -> (loss, backprop)``, backprop() filling the grads."""

    name = "model"
    config = None  # the constructor's arguments, JSON-ready (None: not rebuildable)

    def loss(self, *batch, **options):
        """Zero the gradients, run forward and backward -> the loss (a float)."""
        value, backprop = self._loss(*batch, **options)
        self.zero_grad()
        backprop()
        return value

    def evaluate(self, *batch, **options):
        """The loss without touching the gradients, in inference mode. A stateful model
        carries its state across calls, as ``loss`` does (``reset_states()`` first)."""
        with self.inference(keep_states=True, caches=False):
            return self._loss(*batch, **options)[0]

    def _recurrent_layers(self):
        return {path: layer for top in self.layers for path, layer in walk_paths(top)
                if isinstance(layer, Recurrent)}

    def carried_states(self):
        """Path -> the states a stateful layer carries into the next batch (None: zeros)."""
        return {path: layer.states for path, layer in self._recurrent_layers().items()
                if layer.stateful}

    def set_carried_states(self, states):
        layers = self._recurrent_layers()
        for path, value in states.items():
            layers[path].states = None if value is None else tuple(value)

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
    def inference(self, keep_states=False, caches=True):
        """Inference mode for a while (sampling, decoding): dropout off; afterwards every
        layer's mode is restored, and so are the carried states of stateful layers unless
        ``keep_states`` (then they carry on from where inference left them). Without
        ``caches`` the recurrent layers keep nothing for a backward pass where they can
        (``Recurrent.caching``): no ``backward`` and no ``last_cache`` inside."""
        inner = [layer for top in self.layers for layer in top.walk()]
        recurrent = [layer for layer in inner if isinstance(layer, Recurrent)]
        modes, cachings = [layer.training for layer in inner], [layer.caching for layer in recurrent]
        carried = self.carried_states()
        self.eval()
        for layer in recurrent:
            layer.caching = caches
        try:
            yield self
        finally:
            for layer, mode in zip(inner, modes):
                layer.training = mode
            for layer, caching in zip(recurrent, cachings):
                layer.caching = caching
            if not keep_states:
                self.set_carried_states(carried)

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


def walk_paths(layer, prefix=""):
    path = prefix + layer.name
    yield path, layer
    for inner in layer.sublayers():
        yield from walk_paths(inner, path + "/")


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
