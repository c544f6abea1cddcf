"""Moving recurrent weights between rnnlab and other frameworks (ONNX, PyTorch, Keras)."""
