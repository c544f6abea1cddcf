"""ONNX -> rnnlab: a whole graph as a ``Sequential``, or as the ``LanguageModel`` whose
settings ``export_onnx`` wrote beside it. Needs the ``interop`` extra.

    model = from_onnx("model.onnx")          # a path, bytes or an onnx.ModelProto
    vocab = onnx_vocab("model.onnx")         # the vocabulary an rnnlab export carries

The graph is read along the path from its one input to its first output, tracking
which axis of each tensor is the batch (N), time (T), direction or features:

    Gather(W, ids)                         Embedding
    LSTM / GRU / RNN                       the layer (``onnx_node.RecurrentNode``); its
                                           Y read: return_sequences, its Y_h: not
    Transpose, Squeeze, Reshape            axes moved, a direction axis dropped or
                                           merged into the features (nothing to run;
                                           a Reshape's leading sizes, 0 or the sizes of
                                           a static export, are kept)
    MatMul + Add, Gemm                     Dense (Tanh / Relu / Sigmoid after it: its
                                           activation)
    Identity, Dropout                      nothing (inference)

Nodes off the path (the shape arithmetic of ``torch.onnx.export``'s zero initial
states) are not run: an initial state must be a tensor of zeros, or made from zeros by
any nodes (Expand, Concat, ...) whose only other inputs are shapes; a state from the
graph's input, a sequence_lens input, or any other node on the path is refused in one
line naming it. The model is batch-first whatever the graph's layout: a graph reading
(T, N, D) (PyTorch's batch_first=False) is the same model fed the transposed input.
"""
import json
import os

import numpy as np

from ..functional.lstm import PEEPHOLE_KEYS
from ..layers import Dense, Dropout, Embedding, TiedDense, TimeDistributed
from .onnx_node import OnnxImportError, RecurrentNode, attributes, where

METADATA_KEY = "rnnlab"  # metadata_props: {"config": LanguageModel settings, "vocab": ...}
RECURRENT_OPS = ("LSTM", "GRU", "RNN")
DENSE_ACTIVATIONS = {"Tanh": "tanh", "Relu": "relu", "Sigmoid": "sigmoid"}
PASS_THROUGH = ("Identity", "Dropout")
OFF_PATH_SOURCES = ("Shape", "Size")  # their outputs depend on a tensor's shape alone


def load_onnx(source):
    """A ModelProto from a path, bytes or a ModelProto."""
    import onnx

    if isinstance(source, (str, os.PathLike)):
        return onnx.load(str(source))
    if isinstance(source, bytes):
        return onnx.load_from_string(source)
    return source


def onnx_metadata(source):
    """What an rnnlab export wrote in ``metadata_props`` (a dict; empty for others)."""
    props = {p.key: p.value for p in load_onnx(source).metadata_props}
    return json.loads(props[METADATA_KEY]) if METADATA_KEY in props else {}


def onnx_vocab(source):
    """The Vocab an rnnlab export carries, or None."""
    from ..data import Vocab

    record = onnx_metadata(source).get("vocab")
    return None if record is None else Vocab.from_json(record)


def from_onnx(source, dtype=np.float32):
    """The rnnlab model of an ONNX graph (module docstring): a built ``LanguageModel``
    when the graph is an rnnlab export of one, else a built ``Sequential``."""
    from ..models import LanguageModel, Sequential

    proto = load_onnx(source)
    layers, input_shape = _GraphReader(proto.graph, dtype).layers()
    config = onnx_metadata(proto).get("config")
    if config is None:
        return Sequential(layers, input_shape=input_shape, dtype=dtype)
    model = LanguageModel(**{**config, "dtype": str(np.dtype(dtype))})
    _copy_weights([layer for layer in model.layers if not isinstance(layer, Dropout)], layers)
    return model


class _GraphReader:
    def __init__(self, graph, dtype):
        from onnx import numpy_helper

        self.graph, self.dtype = graph, dtype
        self.constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.producer = {}
        for node in graph.node:
            for name in node.output:
                self.producer[name] = node
            if node.op_type == "Constant":
                self.constants[node.output[0]] = _constant_value(node)
        self.labels, self.origin = {}, {}  # path tensor -> axis labels; -> (layer, output)
        self.specs = []  # per layer: [kind, ...]
        self.bound = {}  # the input's placeholder axes -> "N" / "T"

    def layers(self):
        """-> (the built layers, the Sequential's input shape)."""
        inputs = [i for i in self.graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            raise OnnxImportError(f"the graph has {len(inputs)} inputs "
                                  f"({', '.join(i.name for i in inputs)}); a model reads one")
        source = inputs[0]
        rank = len(source.type.tensor_type.shape.dim)
        ids = source.type.tensor_type.elem_type in (6, 7)  # INT32, INT64
        if (rank, ids) not in ((2, True), (3, False)):
            raise OnnxImportError(f"input {source.name!r}: expected token ids (N, T) or "
                                  f"features (N, T, D), got a rank-{rank} tensor")
        self.labels[source.name] = ("a", "b") + (() if ids else ("F",))
        output = self.graph.output[0].name
        needed = self._ancestors(output)
        for node in self.graph.node:
            if id(node) in needed and node.op_type not in OFF_PATH_SOURCES and \
                    any(name in self.labels for name in node.input):
                self._read(node)
        if output not in self.labels:
            raise OnnxImportError(f"output {output!r} does not depend on the input")
        self._use(output)
        return self._build(), ((None,) if ids else (None, self._features(source)))

    def _features(self, source):
        dim = source.type.tensor_type.shape.dim[2]
        if dim.HasField("dim_value"):
            return dim.dim_value
        first = self.specs[0]  # what the first layer reads
        return first[1].layers[0].input_shape[-1] if first[0] == "recurrent" else first[1].shape[0]

    def _ancestors(self, name):
        """The nodes (by id) ``name`` depends on."""
        seen, stack = set(), [name]
        while stack:
            node = self.producer.get(stack.pop())
            if node is not None and id(node) not in seen:
                seen.add(id(node))
                stack.extend(i for i in node.input if i)
        return seen

    def _constant(self, node, k):
        name = node.input[k] if len(node.input) > k else ""
        if name not in self.constants:
            raise OnnxImportError(f"{where(node)}: its input {k} ({name!r}) is not a constant")
        return self.constants[name]

    def _use(self, name):
        """A tensor read by a layer or given out: the layer output it comes from is used."""
        if name in self.origin:
            k, output = self.origin[name]
            self.specs[k][-1].add(output)

    def _set(self, name, labels, origin=None):
        self.labels[name] = tuple(labels)
        if origin is not None:
            self.origin[name] = origin

    def _read(self, node):
        op, attrs = node.op_type, attributes(node)
        if op in RECURRENT_OPS:
            return self._recurrent(node)
        x = next(name for name in node.input if name in self.labels)
        labels, origin = list(self.labels[x]), self.origin.get(x)
        if op == "Gather" and len(node.input) == 2 and node.input[1] in self.labels:
            if self.specs or attrs.get("axis", 0) != 0:
                raise OnnxImportError(f"{where(node)}: a Gather other than the first "
                                      f"layer's embedding lookup")
            W = self._constant(node, 0)
            self.specs.append(["embedding", W, set()])
            return self._set(node.output[0], self.labels[node.input[1]] + ("F",))
        if op in PASS_THROUGH:
            return self._set(node.output[0], labels, origin)
        if op == "Transpose":
            perm = attrs.get("perm", list(reversed(range(len(labels)))))
            return self._set(node.output[0], [labels[p] for p in perm], origin)
        if op == "Squeeze":
            axes = attrs.get("axes")
            axes = list(self._constant(node, 1)) if axes is None else axes
            axes = [a % len(labels) for a in axes]
            if any(labels[a] != "dir" or self._directions(origin) != 1 for a in axes):
                raise OnnxImportError(f"{where(node)}: axes={axes} of a tensor of axes "
                                      f"{labels}: only a single direction's axis is dropped")
            return self._set(node.output[0], [a for k, a in enumerate(labels) if k not in axes],
                             origin)
        if op == "Reshape":
            shape = [int(s) for s in self._constant(node, 1)]
            merged = len(labels) - 1
            if labels[-2:] != ["dir", "F"] or len(shape) != merged or \
                    any(s < 0 for s in shape[:-1]) or shape[-1] not in (-1, self._width(origin)):
                raise OnnxImportError(f"{where(node)}: shape={shape} of a tensor of axes "
                                      f"{labels}: only the directions merged into the features")
            return self._set(node.output[0], labels[:-2] + ["F"], origin)
        self._use(x)
        if op == "MatMul":
            self.specs.append(["dense", self._constant(node, 1), None, None, set()])
            return self._set(node.output[0], labels, (len(self.specs) - 1, "out"))
        if op == "Gemm":
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise OnnxImportError(f"{where(node)}: Gemm with transA, alpha or beta")
            W = self._constant(node, 1)
            b = self._constant(node, 2) if len(node.input) > 2 and node.input[2] else None
            self.specs.append(["dense", W.T if attrs.get("transB", 0) else W, b, None, set()])
            return self._set(node.output[0], labels, (len(self.specs) - 1, "out"))
        last = self.specs[-1] if self.specs and origin == (len(self.specs) - 1, "out") else None
        if op == "Add" and last is not None and last[2] is None:
            other = node.input[1] if node.input[0] == x else node.input[0]
            if other in self.constants:
                last[2] = self.constants[other]
                return self._set(node.output[0], labels, origin)
        if op in DENSE_ACTIVATIONS and last is not None and last[3] is None:
            last[3] = DENSE_ACTIVATIONS[op]
            return self._set(node.output[0], labels, origin)
        raise OnnxImportError(f"{where(node)}: not an operator of the models rnnlab reads "
                              f"(on the path from the input)")

    def _directions(self, origin):
        spec = self.specs[origin[0]] if origin is not None else None
        return None if spec is None or spec[0] != "recurrent" else len(spec[1].layers)

    def _width(self, origin):
        spec = self.specs[origin[0]]
        return len(spec[1].layers) * spec[1].hidden_size

    def _recurrent(self, node):
        x = node.input[0]
        if x not in self.labels:
            raise OnnxImportError(f"{where(node)}: its input X ({x!r}) is not on the model's "
                                  f"path")
        names = list(node.input) + [""] * 8
        if names[4]:
            raise OnnxImportError(f"{where(node)}: sequence_lens ({names[4]!r}) given; a "
                                  f"model's rows are full length (RecurrentNode.run takes lengths)")
        for k, state in ((5, "initial_h"), (6, "initial_c")):
            if names[k]:
                self._check_zero(node, state, names[k])
        recurrent = RecurrentNode.of(node, self.constants, self.dtype)
        labels = list(self.labels[x])
        wanted = ["N", "T", "F"] if recurrent.layout else ["T", "N", "F"]
        for have, want in zip(labels, wanted):
            if have in ("a", "b"):
                have = self.bound.setdefault(have, want)
                if list(self.bound.values()).count(want) > 1:
                    have = None
            if have != want:
                raise OnnxImportError(f"{where(node)}: layout={recurrent.layout} reads "
                                      f"({', '.join(wanted)}), its input X is "
                                      f"({', '.join(self._named(labels))})")
        self._use(x)
        self.specs.append(["recurrent", recurrent, set()])
        k = len(self.specs) - 1
        sequence = ["N", "T", "dir", "F"] if recurrent.layout else ["T", "dir", "N", "F"]
        state = ["N", "dir", "F"] if recurrent.layout else ["dir", "N", "F"]
        for output, labels, kind in zip(node.output, (sequence, state, state), ("Y", "Y_h", "Y_c")):
            if output:
                self._set(output, labels, (k, kind))

    def _named(self, labels):
        return [self.bound.get(a, "?") if a in ("a", "b") else a for a in labels]

    def _check_zero(self, node, state, name):
        """An initial state made of zeros and shapes only, else OnnxImportError."""
        stack, seen = [name], set()
        while stack:
            tensor = stack.pop()
            if tensor in seen or not tensor:
                continue
            seen.add(tensor)
            if tensor in self.constants:
                value = self.constants[tensor]
                if np.issubdtype(value.dtype, np.floating) and np.any(value != 0):
                    raise OnnxImportError(f"{where(node)}: {state} ({name!r}) is not zero")
                continue
            producer = self.producer.get(tensor)
            if producer is None or tensor in self.labels:
                raise OnnxImportError(f"{where(node)}: {state} ({name!r}) comes from "
                                      f"{tensor!r}, not from constants; a model starts at zero "
                                      f"(RecurrentNode.run takes initial states)")
            if producer.op_type not in OFF_PATH_SOURCES:
                stack.extend(producer.input)

    def _build(self):
        layers = []
        for spec in self.specs:
            kind, used = spec[0], spec[-1]
            if kind == "embedding":
                W = spec[1]
                layer = Embedding(*W.shape)
                layer.build((None,), self.dtype)
                layer.params["W"][...] = W
            elif kind == "dense":
                W, b, activation = spec[1:4]
                layer = Dense(W.shape[1], activation=activation, use_bias=b is not None)
                layer.build((None, W.shape[0]), self.dtype)
                layer.params["W"][...] = W
                if b is not None:
                    layer.params["b"][...] = np.broadcast_to(b, (W.shape[1],))
            else:
                node = spec[1]
                if used - {"Y", "Y_h"} or len(used) != 1:
                    raise OnnxImportError(f"{where(node.node)}: the model reads its outputs "
                                          f"{sorted(used)}; a layer gives either Y or Y_h")
                layer = node.layer(return_sequences="Y" in used)
            layers.append(layer)
        return layers


def _constant_value(node):
    from onnx import numpy_helper

    attrs = {a.name: a for a in node.attribute}
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"].t)
    value = attributes(node)
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in value:
            return np.asarray(value[key], dtype)
    raise OnnxImportError(f"{where(node)}: a Constant of {sorted(value)}")


def _copy_weights(targets, sources):
    """The imported layers' weights into a LanguageModel's layers (Dropout left out):
    layer by layer, parameter by name; a tied output layer's matrix must be the
    embedding's, transposed."""
    if len(targets) != len(sources):
        raise OnnxImportError(f"the graph holds {len(sources)} layers, its rnnlab settings "
                              f"{len(targets)}")
    for target, source in zip(targets, sources):
        target = target.layer if isinstance(target, TimeDistributed) else target
        if isinstance(target, TiedDense):
            if not np.array_equal(source.params["W"], target.embedding.params["W"].T):
                raise OnnxImportError("the output layer's matrix is not the embedding's "
                                      "(tie_weights)")
            target.params["b"][...] = source.params["b"]
            continue
        pairs = zip([t for t in target.walk() if t.params], [s for s in source.walk() if s.params])
        for to, of in pairs:
            for name, value in to.params.items():
                if name in PEEPHOLE_KEYS and name not in of.params:  # read as zero: absent
                    value[...] = 0
                    continue
                if name not in of.params or of.params[name].shape != value.shape:
                    raise OnnxImportError(f"{to.name}: the graph's weights do not fit its "
                                          f"rnnlab settings ({name})")
                value[...] = of.params[name]
