"""Reading a corpus: UTF-8 text, with one clear error for anything else."""
from pathlib import Path


class CorpusError(ValueError):
    """A corpus that cannot be used, with a message that names the file and the fix."""


def read_text(path):
    """The whole file as a string; CorpusError if it is missing, a directory, empty or
    not UTF-8 (naming the offending byte and its offset)."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path}: no such file")
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory, expected a text file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
                          f"{error.start}); convert it, e.g. iconv -f latin1 -t utf-8") from None
    if not text.strip():
        raise CorpusError(f"{path}: is empty, expected some text")
    return text


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
