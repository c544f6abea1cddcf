"""Moving recurrent weights between rnnlab and other frameworks.

    export_onnx(model, path), run_onnx(proto, x)   a whole model as an ONNX graph
    from_torch(module), to_torch(layers)            nn.LSTM / nn.GRU / nn.RNN weights
    load_keras_weights(model, path)                 a Keras 3 .weights.h5 file

``onnx_graph`` holds the per-operator weight conversions. torch, onnx, onnxruntime and
h5py are imported only by the functions that need them (the ``interop`` extra).
"""
from .keras_weights import load_keras_weights
from .onnx_export import export_onnx, run_onnx
from .torch_weights import from_torch, to_torch

__all__ = ["export_onnx", "from_torch", "load_keras_weights", "run_onnx", "to_torch"]
