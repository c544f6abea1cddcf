"""Reading a corpus: UTF-8 text, with one clear error for anything else.

By default a text is read as a user means it: ``\\r\\n`` line ends become ``\\n`` and a
leading UTF-8 byte-order mark is dropped, each said in a notice; ``raw=True`` keeps
the characters exactly as the file has them. Refused, with the fix: a missing file,
a directory, an empty file, NUL bytes (a binary file), UTF-16/UTF-32 (by their
byte-order mark) and any other byte sequence that is not UTF-8.
"""
from dataclasses import dataclass, field
from pathlib import Path

from .stream import CorpusError, TextStream

__all__ = ["CorpusError", "Text", "load_text", "read_text", "split_ids"]


@dataclass
class Text:
    """A text file as read: its characters, its size and sha256 (which identify the
    corpus of a run), whether it can be read again (a regular file, not a pipe), and
    the notices of what reading changed."""
    text: str
    path: Path
    size: int
    sha256: str
    regular: bool = True
    notices: list = field(default_factory=list)

    def identity(self):
        return {"path": str(self.path.resolve()) if self.regular else str(self.path),
                "bytes": self.size, "sha256": self.sha256, "resumable": self.regular}


def load_text(path, raw=False):
    """The file as a ``Text``; CorpusError for anything that is not UTF-8 text. One
    ``stream.TextStream`` pass, whose chunks are joined: a pipe is read as it comes."""
    stream = TextStream(path, raw, chunk_bytes=1 << 26)
    text = "".join(stream)
    return Text(text, Path(path), stream.size, stream.sha256, stream.regular, stream.notices())


def read_text(path, raw=False):
    """The whole file as a string (see ``load_text``)."""
    return load_text(path, raw).text


def split_ids(ids, fractions=(0.90, 0.05, 0.05)):
    """Contiguous train / validation / test parts of a token sequence (char-rnn's
    default 0.90 / 0.05 / 0.05)."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions: expected three non-negative numbers summing to 1, "
                         f"got {fractions}")
    n = len(ids)
    train_end = int(round(n * fractions[0]))
    val_end = train_end + int(round(n * fractions[1]))
    return ids[:train_end], ids[train_end:val_end], ids[val_end:]
