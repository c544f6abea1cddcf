"""Reading a corpus: UTF-8 text, with one clear error for anything else.

By default a text is read as a user means it: ``\\r\\n`` line ends become ``\\n`` and a
leading UTF-8 byte-order mark is dropped, each said in a notice; ``raw=True`` keeps
the characters exactly as the file has them. Refused, with the fix: a missing file,
a directory, an empty file, NUL bytes (a binary file), UTF-16/UTF-32 (by their
byte-order mark) and any other byte sequence that is not UTF-8.
"""
import hashlib
import stat
from dataclasses import dataclass, field
from pathlib import Path

BOM = "\ufeff"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class CorpusError(ValueError):
    """A corpus that cannot be used, with a message that names the file and the fix."""


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
    """The file as a ``Text``; CorpusError for anything that is not UTF-8 text."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path}: no such file")
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory, expected a text file")
    regular = stat.S_ISREG(path.stat().st_mode)
    data = path.read_bytes()
    if data.startswith(UTF16_BOMS):
        raise CorpusError(f"{path}: UTF-16 or UTF-32 text (it starts with a byte-order mark "
                          f"{data[:2].hex(' ')}); convert it to UTF-8, e.g. "
                          f"iconv -f utf-16 -t utf-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise CorpusError(f"{path}: holds NUL bytes (the first at offset {nul}): a binary "
                          f"file, not text; give a UTF-8 text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
                          f"{error.start}); convert it, e.g. iconv -f latin1 -t utf-8") from None
    if not text.strip():
        raise CorpusError(f"{path}: is empty, expected some text")
    result = Text(text, path, len(data), hashlib.sha256(data).hexdigest(), regular)
    if not raw:
        result.text, result.notices = normalize(text, path)
    return result


def normalize(text, path):
    """-> (text with \\r\\n as \\n and no leading byte-order mark, notices saying so)."""
    notices = []
    if text.startswith(BOM):
        text = text[1:]
        notices.append(f"{path}: dropped the UTF-8 byte-order mark at its start")
    crlf = text.count("\r\n")
    if crlf:
        text = text.replace("\r\n", "\n")
        notices.append(f"{path}: read {crlf:,} \\r\\n line ends as \\n")
    if notices:
        notices[-1] += " (--raw-text keeps the text as it is)"
    return text, notices


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
