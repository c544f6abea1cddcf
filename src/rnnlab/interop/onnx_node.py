"""One ONNX ``LSTM``, ``GRU`` or ``RNN`` node as rnnlab layers (``onnx_import`` reads
whole graphs with it). Needs the ``interop`` extra.

    node = RecurrentNode.of(proto.graph.node[k], constants)   # name -> array
    Y, Y_h, Y_c = node.run(X, sequence_lens, initial_h, initial_c)
    layer = node.layer(return_sequences=True)                  # for a Sequential

Attributes (opsets 7-22): direction forward / reverse / bidirectional, layout 0 and 1,
hidden_size, clip (``gate_clip``), input_forget (the LSTM's ``cifg``), linear_before_reset
(the GRU's ``reset_after``), activations with activation_alpha / _beta (read as ONNX
Runtime reads them: each value taken in order by the activations that use one; the
layer's ``recurrent_activation``, ``activation``, ``output_activation``), peepholes P,
and the inputs sequence_lens, initial_h, initial_c. ``run`` gives what the operator
gives: Y zero after each row's length and, for a row of length 0, a zero Y_h and Y_c
as ONNX Runtime does (an rnnlab layer, as Keras, keeps such a row's initial state).
What rnnlab cannot represent is refused in one line naming the node, the attribute and
its value.
"""
import numpy as np

from ..functional.lstm import PEEPHOLE_KEYS
from ..layers import GRU, LSTM, Bidirectional, SimpleRNN
from .onnx_graph import activations_from_onnx, gru_from_onnx, lstm_from_onnx, rnn_from_onnx

DEFAULT_ACTIVATIONS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"],
                       "RNN": ["tanh"]}
# ONNX's f, g, h of each operator as the rnnlab layer's options
ACTIVATION_OPTIONS = {"LSTM": ("recurrent_activation", "activation", "output_activation"),
                      "GRU": ("recurrent_activation", "activation"), "RNN": ("activation",)}


class OnnxImportError(ValueError):
    """What an ONNX graph holds that rnnlab cannot represent, in one line."""


def attributes(node):
    """The node's attributes as Python values (bytes as str)."""
    from onnx import helper

    def plain(value):
        if isinstance(value, bytes):
            return value.decode()
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {a.name: plain(helper.get_attribute_value(a)) for a in node.attribute}


def where(node):
    """How a message names an ONNX node."""
    return f"ONNX node {node.name or node.op_type!r} ({node.op_type})"


class RecurrentNode:
    """One ONNX LSTM / GRU / RNN node as built rnnlab layers, one per direction (each
    reading forward; a reverse direction reads each row's steps reversed)."""

    def __init__(self, node, weights, dtype=np.float32):
        self.node, self.op = node, node.op_type
        attrs = attributes(node)
        self.direction = attrs.pop("direction", "forward")
        self.layout = attrs.pop("layout", 0)
        hidden_size = attrs.pop("hidden_size", None)
        W, R = weights[0], weights[1]
        self.hidden_size = R.shape[-1]
        if hidden_size is not None and hidden_size != self.hidden_size:
            raise OnnxImportError(f"{where(node)}: hidden_size={hidden_size} but R is "
                                  f"{tuple(R.shape)}")
        dirs = 2 if self.direction == "bidirectional" else 1
        if self.direction not in ("forward", "reverse", "bidirectional") or W.shape[0] != dirs:
            raise OnnxImportError(f"{where(node)}: direction={self.direction!r} with W of "
                                  f"{W.shape[0]} direction(s)")
        options = self._options(attrs)
        B = weights[2] if len(weights) > 2 else None
        P = weights[3] if len(weights) > 3 else None
        self.params = [self._direction(options, W[d], R[d], None if B is None else B[d],
                                       None if P is None else P[d]) for d in range(dirs)]
        self._layer = self._layer_kind(options)
        self.layers = []
        for params in self.params:
            layer = self._layer_class(return_sequences=True, return_state=True)
            layer.build((None, W.shape[-1]), dtype)
            self.layers.append(_assigned(layer, params))

    @classmethod
    def of(cls, node, constants, dtype=np.float32):
        """The node, its weights (W, R, B, P) read from ``constants`` (name -> array)."""
        names = list(node.input) + [""] * 8
        for k in (1, 2):
            if names[k] not in constants:
                raise OnnxImportError(f"{where(node)}: its {'WR'[k - 1]} input {names[k]!r} "
                                      f"is not a constant")
        weights = [constants[names[1]], constants[names[2]]]
        for k in (3, 7):
            if names[k]:
                if names[k] not in constants:
                    raise OnnxImportError(f"{where(node)}: its input {names[k]!r} is not a "
                                          f"constant")
                weights.append(constants[names[k]])
            elif k == 3 and names[7]:
                weights.append(None)
        return cls(node, weights, dtype)

    def _options(self, attrs):
        """The rnnlab options of the node's attributes; anything else refused by name."""
        default = DEFAULT_ACTIVATIONS[self.op]
        names = attrs.pop("activations", None)
        alpha, beta = attrs.pop("activation_alpha", None), attrs.pop("activation_beta", None)
        try:
            acts = [a.spec for a in activations_from_onnx(names or default, alpha, beta)]
        except ValueError as error:
            raise OnnxImportError(f"{where(self.node)}: {error}") from None
        per_direction = [acts[k : k + len(default)] for k in range(0, len(acts), len(default))]
        if any(d != per_direction[0] for d in per_direction) or len(acts) % len(default):
            raise OnnxImportError(f"{where(self.node)}: activations={names!r} (rnnlab's "
                                  f"directions share theirs: {len(default)} names, the same "
                                  f"for each)")
        options = dict(zip(ACTIVATION_OPTIONS[self.op], per_direction[0]))
        if options.get("output_activation") == options.get("activation"):
            options.pop("output_activation", None)
        clip = attrs.pop("clip", None)
        if clip is not None:
            options["gate_clip"] = float(clip)
        if self.op == "LSTM":
            options["cifg"] = bool(attrs.pop("input_forget", 0))
            if options["cifg"] and options["recurrent_activation"] != "sigmoid":
                raise OnnxImportError(f"{where(self.node)}: input_forget=1 with activations="
                                      f"{names!r} (rnnlab's cifg reads ONNX's i gate as 1 - f "
                                      f"with the sigmoid only)")
        if self.op == "GRU":
            options["reset_after"] = bool(attrs.pop("linear_before_reset", 0))
        if attrs:
            name, value = next(iter(attrs.items()))
            raise OnnxImportError(f"{where(self.node)}: {name}={value!r} has no rnnlab "
                                  f"counterpart")
        if self.layout not in (0, 1):
            raise OnnxImportError(f"{where(self.node)}: layout={self.layout!r}")
        return options

    def _direction(self, options, W, R, B, P):
        """-> the rnnlab parameters of one direction (the LSTM's peepholes all three)."""
        if self.op == "LSTM":
            Wx, Wh, b, peepholes = lstm_from_onnx(W, R, B, P, options["cifg"])
            return {"Wx": Wx, "Wh": Wh, "b": b, **peepholes}
        if self.op == "GRU":
            Wx, Wh, b = gru_from_onnx(W, R, B, options["reset_after"])
        else:
            Wx, Wh, b = rnn_from_onnx(W, R, B)
        return {"Wx": Wx, "Wh": Wh, "b": b}

    def _layer_kind(self, options):
        """-> (the layer class, its options). An LSTM peephole that is zero in every
        direction is no peephole: it is dropped from the parameters."""
        if self.op != "LSTM":
            return (GRU if self.op == "GRU" else SimpleRNN), options
        in_use = [k for k in PEEPHOLE_KEYS if any(np.any(p.get(k, 0)) for p in self.params)]
        for params in self.params:
            for key in set(params) & set(PEEPHOLE_KEYS) - set(in_use):
                del params[key]
        return LSTM, {**options, "peepholes": tuple(k[2] for k in in_use)}

    def _layer_class(self, **settings):
        kind, options = self._layer
        return kind(self.hidden_size, **options, **settings)

    def reversed_directions(self):
        """Per direction, whether it reads each row backwards."""
        return [self.direction == "reverse" or d == 1 for d in range(len(self.layers))]

    def run(self, X, sequence_lens=None, initial_h=None, initial_c=None):
        """The operator's outputs for its inputs, laid out as ``layout`` says:
        (Y, Y_h) and Y_c for the LSTM."""
        X = np.asarray(X, self.layers[0].dtype)
        x = X if self.layout else np.swapaxes(X, 0, 1)  # (N, T, D)
        N, T = x.shape[:2]
        lengths = np.full(N, T) if sequence_lens is None else np.asarray(sequence_lens, np.int64)
        states = []
        for given in (initial_h, initial_c):
            if given is not None:
                given = np.asarray(given, X.dtype)
                states.append(np.swapaxes(given, 0, 1) if self.layout else given)  # (dirs, N, H)
        outputs, finals = [], []
        for d, (layer, backwards) in enumerate(zip(self.layers, self.reversed_directions())):
            initial = None
            if states:
                initial = tuple(s[d] for s in states)
                if self.op == "LSTM" and len(initial) == 1:
                    initial += (np.zeros_like(initial[0]),)
            y, *final = layer.forward(_reverse_rows(x, lengths) if backwards else x,
                                      lengths=lengths, initial_state=initial)
            outputs.append(_reverse_rows(y, lengths) if backwards else y)
            finals.append([np.where((lengths > 0)[:, None], s, 0) for s in final])
        Y = np.stack(outputs, axis=2)  # (N, T, dirs, H)
        finals = [np.stack(s) for s in zip(*finals)]  # each (dirs, N, H)
        if self.layout:
            return (Y, *(np.swapaxes(s, 0, 1) for s in finals))
        return (np.transpose(Y, (1, 2, 0, 3)), *finals)

    def layer(self, return_sequences):
        """The node as one rnnlab layer of a Sequential (return_state off): the layer, or
        a Bidirectional (merge_mode concat) of the two."""
        if self.direction == "reverse" and return_sequences:
            raise OnnxImportError(f"{where(self.node)}: direction='reverse' with its Y read "
                                  f"(rnnlab's go_backwards gives the outputs in reading order)")
        layer = self._layer_class(return_sequences=return_sequences,
                                  go_backwards=self.direction == "reverse")
        if len(self.layers) == 2:
            layer = Bidirectional(layer)
        layer.build(self.layers[0].input_shape, self.layers[0].dtype)
        subs = [layer.forward_layer, layer.backward_layer] if len(self.layers) == 2 else [layer]
        for sub, params in zip(subs, self.params):
            _assigned(sub, params)
        return layer


def _assigned(layer, params):
    """A built layer with ``params`` copied into its own arrays."""
    for name, value in params.items():
        layer.params[name][...] = value
    return layer


def _reverse_rows(a, lengths):
    """a (N, T, ...) with each row's first ``lengths[n]`` steps in reverse order."""
    T = a.shape[1]
    t = np.arange(T)[None, :]
    index = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return np.take_along_axis(a, index.reshape(index.shape + (1,) * (a.ndim - 2)), axis=1)
