"""ONNX export of a whole model: a LanguageModel or a Sequential stack of Embedding,
Dropout (an identity at inference), LSTM / GRU / SimpleRNN layers (Bidirectional,
stacked, with or without return_sequences) and Dense / TimeDistributed(Dense) /
TiedDense, with the ONNX ``LSTM``, ``GRU`` and ``RNN`` operators. Needs the ``interop``
extra.

    proto = export_onnx(model, "model.onnx")
    scores = run_onnx(proto, ids)                       # ONNX Runtime

The graph takes the model's batch-first input, "input": token ids (N, T) int64 after
an Embedding, else features (N, T, D) float32, and gives "output", what ``forward``
gives in inference mode, from zero states, every sequence full length. Per layer:

    Embedding            Gather(W, ids)
    recurrent            Transpose to (T, N, D), the operator (direction forward, or
                         bidirectional for a Bidirectional with merge_mode concat),
                         Y (T, dirs, N, H) -> (N, T, dirs H); without return_sequences
                         Y_h (dirs, N, H) -> (N, dirs H)
    Dense                MatMul(x, W) + b, then Tanh / Relu / Sigmoid
    TiedDense            MatMul(x, E^T) + b

Options ONNX has: peepholes (P), cifg (input_forget), gate_clip (clip, also of the GRU
and the RNN), every cell's activations (activations, activation_alpha / _beta); those it
has not (cell_clip, layer norm, projection), the Clockwork and depth-gated cells, a lone
go_backwards, other merge modes and other layers are refused with a message naming
them. The weight conversions are ``onnx_graph``'s.
"""
import numpy as np

from ..layers import (
    GRU,
    LSTM,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Recurrent,
    SimpleRNN,
    TiedDense,
    TimeDistributed,
)
from .onnx_graph import OPSET, activation_attributes, gru_to_onnx, lstm_to_onnx, rnn_to_onnx
from .onnx_import import METADATA_KEY
from .support import check_supported

# class -> the cell options of its ONNX operator: P, input_forget, clip, activations;
# linear_before_reset
ACTIVATION_OPTIONS = ("activation", "recurrent_activation")
ONNX_HAS = {LSTM: ("peepholes", "cifg", "gate_clip", "output_activation") + ACTIVATION_OPTIONS,
            GRU: ("reset_after", "gate_clip") + ACTIVATION_OPTIONS,
            SimpleRNN: ("activation", "gate_clip")}

ACTIVATION_OPS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


class _Graph:
    """Nodes and float32 initializers under fresh names."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, stem, value, dtype=np.float32):
        name = self.name(stem)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value, dtype), name))
        return name

    def node(self, op, inputs, n_outputs=1, **attributes):
        outputs = [self.name(op.lower()) for _ in range(n_outputs)]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, **attributes))
        return outputs if n_outputs > 1 else outputs[0]


def export_onnx(model, path=None, opset=OPSET, vocab=None):
    """The ONNX ModelProto of ``model`` (built), checked; written to ``path`` when given.
    A LanguageModel's settings, and ``vocab`` when given, go in ``metadata_props``
    (key "rnnlab", JSON) so that ``from_onnx`` and ``rnnlab sample`` rebuild it."""
    import json

    import onnx
    from onnx import TensorProto

    layers = list(getattr(model, "layers", []))
    if not layers or not all(layer.built for layer in layers):
        raise ValueError("model: expected a built LanguageModel or Sequential")
    graph = _Graph()
    ids = isinstance(layers[0], Embedding)
    x = "input"
    for layer in layers:
        x = _export_layer(graph, layer, x)
    helper = graph.helper
    shape = tuple(layers[0].input_shape)
    inputs = [helper.make_tensor_value_info("input", TensorProto.INT64 if ids else TensorProto.FLOAT,
                                           _dims(shape))]
    for layer in layers:
        shape = tuple(layer.output_shape(shape))
    graph.nodes.append(helper.make_node("Identity", [x], ["output"]))
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, _dims(shape))]
    proto = helper.make_model(helper.make_graph(graph.nodes, "rnnlab", inputs, outputs,
                                                initializer=graph.initializers),
                              opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="rnnlab")
    from ..models import LanguageModel

    metadata = {"config": model.config if isinstance(model, LanguageModel) else None,
                "vocab": None if vocab is None else vocab.to_json()}
    metadata = {k: v for k, v in metadata.items() if v is not None}
    if metadata:
        helper.set_model_props(proto, {METADATA_KEY: json.dumps(metadata)})
    onnx.checker.check_model(proto)
    if path is not None:
        onnx.save(proto, str(path))
    return proto


def _dims(shape):
    """ONNX dimensions of a batch-first shape given without its batch axis."""
    return ["N"] + ["T" if d is None else int(d) for d in shape]


def _export_layer(graph, layer, x):
    if isinstance(layer, Embedding):
        return graph.node("Gather", [graph.constant("embedding", layer.params["W"]), x], axis=0)
    if isinstance(layer, Dropout):
        return x
    if isinstance(layer, TimeDistributed):
        return _export_layer(graph, layer.layer, x)
    if isinstance(layer, TiedDense):
        W = graph.constant("tied_embedding_T", layer.embedding.params["W"].T)
        return graph.node("Add", [graph.node("MatMul", [x, W]), graph.constant("bias", layer.params["b"])])
    if isinstance(layer, Dense):
        y = graph.node("MatMul", [x, graph.constant("kernel", layer.params["W"])])
        if layer.use_bias:
            y = graph.node("Add", [y, graph.constant("bias", layer.params["b"])])
        return graph.node(ACTIVATION_OPS[layer.activation], [y]) if layer.activation else y
    if isinstance(layer, (Bidirectional, Recurrent)):
        return _export_recurrent(graph, layer, x)
    raise ValueError(f"{layer.name}: {type(layer).__name__} has no ONNX export")


def _export_recurrent(graph, layer, x):
    if isinstance(layer, Bidirectional):
        if layer.merge_mode != "concat":
            raise ValueError(f"{layer.name}: only merge_mode='concat' exports (got {layer.merge_mode!r})")
        directions, direction = [layer.forward_layer, layer.backward_layer], "bidirectional"
    else:
        if layer.go_backwards:
            raise ValueError(f"{layer.name}: go_backwards alone does not export (use Bidirectional)")
        directions, direction = [layer], "forward"
    first = directions[0]
    op, weights, attributes = _operator(first)
    per_direction = [_operator(sub)[1] for sub in directions]
    weights = [np.concatenate([w[k] for w in per_direction]) for k in range(len(weights))]
    names = [graph.constant(stem, w) for stem, w in zip(("W", "R", "B", "P"), weights)]
    for name in ("activations", "activation_alpha", "activation_beta"):  # per direction
        if name in attributes:
            attributes[name] = attributes[name] * len(directions)
    x_tm = graph.node("Transpose", [x], perm=[1, 0, 2])
    inputs = names[:3] + (["", "", "", names[3]] if len(names) == 4 else [])
    Y, Y_h = graph.node(op, [x_tm] + inputs, n_outputs=2, hidden_size=first.units,
                        direction=direction, **attributes)[:2]
    if first.return_sequences:  # (T, dirs, N, H) -> (N, T, dirs H)
        y = graph.node("Transpose", [Y], perm=[2, 0, 1, 3])
        return graph.node("Reshape", [y, graph.constant("shape", [0, 0, -1], np.int64)])
    y = graph.node("Transpose", [Y_h], perm=[1, 0, 2])  # (dirs, N, H) -> (N, dirs H)
    return graph.node("Reshape", [y, graph.constant("shape", [0, -1], np.int64)])


def _operator(layer):
    """-> (ONNX op, weights [W, R, B(, P)] each (1, ...), attributes) of one direction."""
    p = layer.params
    check_supported(layer, ONNX_HAS, "ONNX")
    attributes = {} if layer.gate_clip is None else {"clip": float(layer.gate_clip)}
    if type(layer) is LSTM:
        W, R, B, P = lstm_to_onnx(p["Wx"], p["Wh"], layer.total_bias(),
                                  {k: p[k] for k in layer.peephole_keys}, layer.cifg)
        if layer.cifg:  # ONNX's i := rnnlab's f block negated: f(-a) = 1 - f(a) needed
            if layer.recurrent_activation != "sigmoid":
                raise ValueError(f"{layer.name}: ONNX's input_forget holds cifg=True only with "
                                 f"recurrent_activation='sigmoid' (rnnlab's {layer.name} uses "
                                 f"{layer.recurrent_activation!r})")
            attributes["input_forget"] = 1
        if layer.activations != ("sigmoid", "tanh", "tanh"):
            attributes.update(activation_attributes(layer.activations))
        return "LSTM", [W, R, B] + ([P] if P is not None else []), attributes
    if type(layer) is GRU:
        attributes["linear_before_reset"] = int(layer.reset_after)
        if (layer.recurrent_activation, layer.activation) != ("sigmoid", "tanh"):
            attributes.update(activation_attributes((layer.recurrent_activation, layer.activation)))
        return "GRU", list(gru_to_onnx(p["Wx"], p["Wh"], p["b"], layer.reset_after)), attributes
    attributes.update(activation_attributes([layer.activation]))
    return "RNN", list(rnn_to_onnx(p["Wx"], p["Wh"], layer.total_bias())), attributes


def run_onnx(proto, x):
    """Run an exported model on ONNX Runtime: x as the model's input -> the output."""
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.asarray(x)
    x = x.astype(np.int64) if np.issubdtype(x.dtype, np.integer) else x.astype(np.float32)
    return session.run(["output"], {"input": x})[0]
