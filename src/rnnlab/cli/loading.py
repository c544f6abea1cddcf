"""What the commands that read a trained model share: its checkpoint with a vocabulary,
and prime text turned into ids."""
import sys

from ..train import read_checkpoint
from .settings import CLIError


def load_language_model(path, purpose):
    """The checkpoint at ``path`` (a checkpoint or run directory); CLIError when it has
    no vocabulary to ``purpose`` with ("write text", "read text")."""
    checkpoint = read_checkpoint(path)
    if checkpoint.vocab is None:
        raise CLIError(f"{path}: the checkpoint has no vocabulary to {purpose} with")
    return checkpoint


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
