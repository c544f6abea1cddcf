"""A prepared corpus (``prepare.prepare``), read without loading it: each split's token
file is an ``np.memmap``, and connected batches are cut from the mapping.

    corpus = TokenFile("corpus/")
    Solver(model, {"train": corpus.train, "val": corpus.valid}, ...)

Opening checks everything but the ids cheaply (the format and version, the vocabulary's
size against ``meta.json``, each file's size against its token count); ``check_ids``
reads every split once, in bounded memory, for an id outside the vocabulary.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from .batching import release_pages
from .prepare import FORMAT, SPLITS, VERSION
from .text import CorpusError
from .vocab import Vocab

SCAN_TOKENS = 1 << 24  # ids read at a time by check_ids


def is_prepared(path):
    """Whether ``path`` is a directory holding a prepared corpus (its meta.json)."""
    path = Path(path)
    return path.is_dir() and (path / "meta.json").is_file()


class TokenFile:
    def __init__(self, directory, check_ids=True):
        self.directory = Path(directory)
        meta_path = self.directory / "meta.json"
        if not self.directory.is_dir():
            raise CorpusError(f"{self.directory}: not a directory (a prepared corpus is the "
                              f"directory `rnnlab prepare` writes)")
        if not meta_path.is_file():
            raise CorpusError(f"{self.directory}: is a directory without meta.json, not a "
                              f"prepared corpus; give a text file, or prepare one with "
                              f"`rnnlab prepare TEXT_FILE --out {self.directory}`")
        raw = meta_path.read_bytes()
        self.meta_sha256 = hashlib.sha256(raw).hexdigest()
        try:
            self.meta = json.loads(raw)
            format_, version = self.meta["format"], self.meta["version"]
        except (ValueError, KeyError, TypeError):
            raise CorpusError(f"{meta_path}: not the meta.json of a prepared corpus") from None
        if format_ != FORMAT or version != VERSION:
            raise CorpusError(f"{meta_path}: a corpus of format {format_!r} version {version!r}; "
                              f"this rnnlab reads {FORMAT!r} version {VERSION}: prepare it again")
        self.vocab = self._vocabulary()
        self.dtype = np.dtype(self.meta["dtype"])
        self.splits = {name: self._map(name) for name in SPLITS}
        if check_ids:
            self.check_ids()

    @property
    def path(self):
        return self.directory

    @property
    def size(self):
        """The bytes of the token files."""
        return sum((self.directory / f"{n}.bin").stat().st_size for n in SPLITS)

    @property
    def sha256(self):
        """Its meta.json's sha256: meta.json holds the sources' checksums and the token counts."""
        return self.meta_sha256

    @property
    def notices(self):
        return []

    @property
    def regular(self):
        return True

    @property
    def level(self):
        return self.meta["level"]

    train = property(lambda self: self.splits["train"], doc="The training split's ids (memmap).")
    valid = property(lambda self: self.splits["valid"], doc="The validation split's ids.")
    test = property(lambda self: self.splits["test"], doc="The test split's ids.")

    def characters(self, split):
        """The characters of a split's text (None where the level does not count them)."""
        return self.meta["splits"][split].get("characters")

    def _vocabulary(self):
        path = self.directory / "vocab.json"
        try:
            vocab = Vocab.load(path)
        except FileNotFoundError:
            raise CorpusError(f"{path}: missing; prepare the corpus again") from None
        except ValueError as error:
            raise CorpusError(f"{path}: {error}") from None
        if len(vocab) != self.meta["vocab_size"]:
            raise CorpusError(f"{path}: {len(vocab):,} tokens where meta.json says "
                              f"{self.meta['vocab_size']:,}: not this corpus's vocabulary")
        return vocab

    def _map(self, name):
        path = self.directory / f"{name}.bin"
        expected = self.meta["splits"][name]["tokens"]
        size = path.stat().st_size if path.is_file() else None
        if size is None:
            raise CorpusError(f"{path}: missing; prepare the corpus again")
        if size != expected * self.dtype.itemsize:
            raise CorpusError(f"{path}: {size:,} bytes where meta.json says {expected:,} "
                              f"{self.dtype.name} tokens ({expected * self.dtype.itemsize:,} "
                              f"bytes): truncated or not this corpus's file")
        if expected == 0:
            return np.zeros(0, self.dtype)
        return np.memmap(path, self.dtype, mode="r", shape=(expected,))

    def check_ids(self):
        """CorpusError naming the split and offset of the first id outside the vocabulary."""
        V = len(self.vocab)
        if V <= np.iinfo(self.dtype).max:  # else no id of the dtype can be outside
            for name, ids in self.splits.items():
                for start in range(0, len(ids), SCAN_TOKENS):
                    chunk = ids[start : start + SCAN_TOKENS]
                    top = chunk.max()
                    release_pages(ids)
                    if top >= V:
                        at = start + int(np.argmax(chunk >= V))
                        raise CorpusError(f"{self.directory / (name + '.bin')}: id {int(ids[at])} "
                                          f"at token {at:,} is outside the vocabulary of "
                                          f"{V:,}: not this corpus's vocabulary")

    def identity(self):
        """What a run records to know the corpus again (as ``text.Text.identity``)."""
        return {"path": str(self.directory.resolve()), "bytes": self.size,
                "sha256": self.sha256, "resumable": True}
