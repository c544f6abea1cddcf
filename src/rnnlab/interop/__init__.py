"""Moving recurrent weights between rnnlab and other frameworks.

    export_onnx(model, path), run_onnx(proto, x)   a whole model as an ONNX graph
    from_onnx(path), onnx_vocab(path)               an ONNX graph as an rnnlab model
    RecurrentNode.of(node, constants)               one ONNX LSTM / GRU / RNN node
    from_torch(module), to_torch(layers)            nn.LSTM / nn.GRU / nn.RNN weights
    load_keras_weights(model, path)                 a Keras 3 .weights.h5 file, in
    save_keras_weights(model, path)                 and out

``onnx_graph`` holds the per-operator weight conversions. torch, onnx, onnxruntime and
h5py are imported only by the functions that need them (the ``interop`` extra).
"""
from .keras_weights import load_keras_weights, save_keras_weights
from .onnx_export import export_onnx, run_onnx
from .onnx_import import from_onnx, onnx_vocab
from .onnx_node import OnnxImportError, RecurrentNode
from .torch_weights import from_torch, to_torch

__all__ = ["OnnxImportError", "RecurrentNode", "export_onnx", "from_onnx", "from_torch",
           "load_keras_weights", "onnx_vocab", "run_onnx", "save_keras_weights", "to_torch"]
