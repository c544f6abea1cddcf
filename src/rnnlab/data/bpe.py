"""Byte-level BPE vocabularies (as GPT-2's), trained and applied by the Hugging Face
``tokenizers`` library (the optional extra ``rnnlab[bpe]``).

Ids 0 and 1 are ``<null>`` and ``<unk>`` (never produced by a byte-level tokenizer,
which can spell any text). The pre-tokenizer (GPT-2's expression, no prefix space) splits a
whitespace run W followed by a non-space into W[:-1] and W[-1] (the latter joined to the
word after it); at the end of a text, W is one pre-token. So a text cut before the last
whitespace character of such a run encodes, piece by piece, to the same ids as in one
piece (``CUT``). ``LINE_CUT``: those cuts where the run holds a line break, preferred
(a split then starts on a new line).
"""
import json
import re

import numpy as np

from .vocab import NULL, UNK, Vocab

SPECIALS = (NULL, UNK)
CUT = re.compile(r"(?=\s\S)")  # a cut at each match's end leaves the ids unchanged
LINE_CUT = re.compile(r"\n\s*(?=\s\S)|(?=\n\S)")  # the same, in a run with a line break


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
        """``encode`` of a long text, cut at its line breaks (LINE_CUT) and encoded in
        parallel."""
        ends = sorted({m.end() for m in LINE_CUT.finditer(text)} - {0, len(text)})
        pieces = [text[a:b] for a, b in zip([0] + ends, ends + [len(text)])]
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
