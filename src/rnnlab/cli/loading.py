"""What the commands that read a trained model share: its checkpoint with a vocabulary,
and prime text turned into ids."""
import sys
from pathlib import Path

from ..train import read_checkpoint
from ..train.checkpoint import Checkpoint
from .settings import CLIError


def load_language_model(path, purpose):
    """The checkpoint at ``path`` (a checkpoint or run directory, or an ONNX file that
    ``rnnlab export`` wrote); CLIError when it has no vocabulary to ``purpose`` with
    ("write text", "read text")."""
    checkpoint = _from_onnx(path) if str(path).endswith(".onnx") else read_checkpoint(path)
    if checkpoint.vocab is None:
        raise CLIError(f"{path}: the checkpoint has no vocabulary to {purpose} with")
    return checkpoint


def _from_onnx(path):
    """An rnnlab export read back: the LanguageModel and the vocabulary of its metadata."""
    try:
        from google.protobuf.message import DecodeError
        from onnx import ModelProto
    except ImportError:
        raise CLIError(f"{path}: reading ONNX needs the interop extra (pip install "
                       f"'rnnlab[interop]')") from None

    from ..interop.onnx_import import from_onnx, onnx_vocab
    from ..models import LanguageModel

    try:
        proto = ModelProto.FromString(Path(path).read_bytes())
    except DecodeError:
        raise CLIError(f"{path}: not an ONNX model") from None
    model = from_onnx(proto)
    if not isinstance(model, LanguageModel):
        raise CLIError(f"{path}: an ONNX graph without rnnlab's language-model settings "
                       f"(written by rnnlab export)")
    return Checkpoint(Path(path), model, onnx_vocab(proto))


def prime_ids(vocab, prime, option="--prime"):
    """The ids of the text given with ``option``. Characters the vocabulary lacks are a
    CLIError naming them; unknown words become <unk>, with a notice on stderr naming
    them."""
    if prime is None:
        prime = "\n" if vocab.level == "char" and "\n" in vocab.index else ""
    missing = sorted({t for t in vocab.tokenize(prime) if t not in vocab.index})
    if missing and vocab.level == "char":
        raise CLIError(f"{option}: characters not in the model's vocabulary: "
                       f"{', '.join(repr(t) for t in missing)}")
    if missing:
        print(f"notice: {option} words not in the model's vocabulary, read as <unk>: "
              f"{', '.join(repr(t) for t in missing)}", file=sys.stderr)
    return vocab.encode(prime)
