"""Corpora bundled with the package (package data, so a wheel install has them)."""
from importlib import resources

BUNDLED = {"tinyshakespeare": "tinyshakespeare.txt"}


def corpus_path(name="tinyshakespeare"):
    """Filesystem path of a bundled corpus (``tinyshakespeare``: 1,115,394 characters,
    from karpathy/char-rnn)."""
    if name not in BUNDLED:
        raise ValueError(f"corpus: expected one of {sorted(BUNDLED)}, got {name!r}")
    return resources.files(__name__).joinpath(BUNDLED[name])
