"""Byte-level BPE vocabularies (as GPT-2's), trained and applied by the Hugging Face
``tokenizers`` library (the optional extra ``rnnlab[bpe]``).

Ids 0 and 1 are ``<null>`` and ``<unk>`` (never produced by a byte-level tokenizer,
which can spell any text). The pre-tokenizer adds no prefix space, so a text cut where a
line that ends in a non-space character is followed by one that starts with one (the
cut after "word\n" in "word\nWord") encodes, piece by piece, to the same ids as in one
piece: no pre-token crosses such a cut, and a lone "\n" is one pre-token either way (a
longer whitespace run is not: "\n\n" at a piece's end would be one, "\n", "\n" before
a word).
"""
import json
import re

import numpy as np

from .vocab import NULL, UNK, Vocab

SPECIALS = (NULL, UNK)
LINE_START = re.compile(r"(?<=\S\n)(?=\S)")  # where a text may be cut without changing its ids


def require_tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise ImportError("BPE vocabularies need the tokenizers library: "
                          "pip install 'rnnlab[bpe]'") from None
    return tokenizers


def train_bpe(texts, vocab_size):
    """A byte-level BPE of ``vocab_size`` tokens (specials included) learnt from an
    iterable of strings -> BPEVocab."""
    tk = require_tokenizers()
    tokenizer = tk.Tokenizer(tk.models.BPE())
    tokenizer.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                     initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
                                     show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    return BPEVocab(tokenizer)


class BPEVocab(Vocab):
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        tokens = [tokenizer.id_to_token(k) for k in range(tokenizer.get_vocab_size())]
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"tokenizer: expected {SPECIALS} as ids 0, 1, got {tokens[:2]}")
        super().__init__(tokens[len(SPECIALS):], "bpe", SPECIALS)

    def tokenize(self, text):
        return self.tokenizer.encode(text).tokens

    def encode(self, text):
        return np.array(self.tokenizer.encode(text).ids, dtype=np.int64)

    def encode_pieces(self, text):
        """``encode`` of a long text, cut at line starts and encoded in parallel."""
        pieces = LINE_START.split(text)
        ids = [e.ids for e in self.tokenizer.encode_batch(pieces)]
        return np.fromiter((k for piece in ids for k in piece), dtype=np.int64)

    def decode(self, ids):
        return self.tokenizer.decode([int(k) for k in ids], skip_special_tokens=False)

    def token_text(self, k):
        return self.decode([k])

    def text_stream(self):
        """A byte-level token may hold part of a character: its bytes are held back until
        the character is complete (at most 4 tokens)."""
        pending = []

        def write(k):
            pending.append(k)
            text = self.decode(pending)
            if text.endswith("\ufffd") and len(pending) < 4:
                return ""
            pending.clear()
            return text

        return write

    def to_json(self):
        return {"level": "bpe", "specials": list(SPECIALS),
                "tokenizer": json.loads(self.tokenizer.to_str())}

    @classmethod
    def from_json(cls, record):
        tk = require_tokenizers()
        try:
            return cls(tk.Tokenizer.from_str(json.dumps(record["tokenizer"])))
        except (KeyError, TypeError, Exception) as error:
            raise ValueError(f"vocabulary: not a BPE tokenizer ({error})") from None

    def save_tokenizer(self, path):
        """The tokenizer in its library's standard ``tokenizer.json``."""
        from ..files.atomic import write_atomically

        write_atomically(path, self.tokenizer.to_str().encode("utf-8"))
