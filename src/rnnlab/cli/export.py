"""``rnnlab export CHECKPOINT OUT``: the model in another framework's file, chosen by the
name's ending:

    OUT.onnx         ONNX graph (``export_onnx``), the vocabulary in metadata_props:
                     ``rnnlab sample OUT.onnx`` and ``rnnlab inspect OUT.onnx`` read it
    OUT.pt           a PyTorch state_dict of tensors (``torch.save``), as the RNNModel of
                     PyTorch's word_language_model example names them
    OUT.weights.h5   a Keras 3 weights file (``save_keras_weights``)

Written under a temporary name and renamed: OUT is the old file or the whole new one.
What a format cannot hold is one line naming the layer and the option."""
import io

from ..files.atomic import write_atomically
from .loading import load_language_model
from .settings import CLIError

FORMATS = (".onnx", ".pt", ".weights.h5")


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    parser.add_argument("out", help="OUT.onnx, OUT.pt or OUT.weights.h5")


def run(args):
    kind = next((suffix for suffix in FORMATS if args.out.endswith(suffix)), None)
    if kind is None:
        raise CLIError(f"{args.out}: expected a name ending in {', '.join(FORMATS)}")
    checkpoint = load_language_model(args.checkpoint, "export")
    try:
        data = _serialise(kind, checkpoint.model, checkpoint.vocab)
    except ImportError as error:
        extra = "bench" if kind == ".pt" else "interop"  # bench: the CPU build of PyTorch
        raise CLIError(f"{kind} export needs {error.name} (pip install 'rnnlab[{extra}]' or "
                       f"pip install {error.name})") from None
    write_atomically(args.out, data)
    print(f"exported {args.checkpoint} -> {args.out} ({len(data):,} bytes)")
    return 0


def _serialise(kind, model, vocab):
    if kind == ".onnx":
        from ..interop import export_onnx

        return export_onnx(model, vocab=vocab).SerializeToString()
    buffer = io.BytesIO()
    if kind == ".pt":
        import torch

        from ..interop.torch_weights import language_model_state_dict

        torch.save(language_model_state_dict(model), buffer)
    else:
        from ..interop.keras_weights import save_keras_weights

        save_keras_weights(model, buffer)
    return buffer.getvalue()
