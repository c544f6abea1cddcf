"""Vocabularies: tokens <-> integer ids, saved as JSON.

Ids 0.. go to the special tokens first: ``<null>`` (padding, id 0), ``<unk>`` (any
token not in the vocabulary) and, for words, ``<eos>`` (end of a line, as the Penn
Treebank language-model setup). Then the tokens: characters in sorted order; words
by decreasing count (ties alphabetical), those below ``min_count`` dropped, at most
``max_size`` in all. Subword (byte-level BPE) vocabularies: ``bpe.BPEVocab``.
"""
import json
from collections import Counter

import numpy as np

from ..files.atomic import write_atomically

NULL, UNK, EOS = "<null>", "<unk>", "<eos>"


class Vocab:
    def __init__(self, tokens, level, specials):
        self.level, self.specials = level, list(specials)
        self.tokens = list(specials) + [t for t in tokens if t not in specials]
        self.index = {t: k for k, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("tokens: expected each token once")

    def __len__(self):
        return len(self.tokens)

    @classmethod
    def characters(cls, text):
        """Every distinct character of ``text``, sorted, after <null> and <unk>."""
        return cls(sorted(set(text)), "char", [NULL, UNK])

    @classmethod
    def words(cls, text, min_count=1, max_size=None):
        """Whitespace-separated words of ``text`` (a line end is <eos>)."""
        return cls.from_word_counts(Counter(tokenize_words(text)), min_count, max_size)

    @classmethod
    def from_word_counts(cls, counts, min_count=1, max_size=None):
        """The word vocabulary of a Counter of words (<eos> among them or not)."""
        counts = Counter(counts)
        counts.pop(EOS, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        words = [w for w, c in ranked if c >= min_count]
        specials = [NULL, UNK, EOS]
        if max_size is not None:
            words = words[: max(max_size - len(specials), 0)]
        return cls(words, "word", specials)

    def special_ids(self):
        """The ids a generated text must never hold: <null> and <unk> (not <eos>, which
        is a line end)."""
        return [self.index[t] for t in (NULL, UNK) if t in self.index]

    def tokenize(self, text):
        return list(text) if self.level == "char" else tokenize_words(text)

    def encode(self, text):
        """Text -> ids (int64); unknown tokens -> <unk>."""
        unk = self.index[UNK]
        return np.array([self.index.get(t, unk) for t in self.tokenize(text)], dtype=np.int64)

    def decode(self, ids):
        """Ids -> text (characters joined, words joined by spaces, <eos> as a newline)."""
        tokens = [self.tokens[int(k)] for k in ids]
        if self.level == "char":
            return "".join(tokens)
        text, line = "", []
        for token in tokens:
            if token == EOS:
                text, line = text + " ".join(line) + "\n", []
            else:
                line.append(token)
        return text + " ".join(line)

    def token_text(self, k):
        """How token ``k`` reads within a text: a character as it is, a word followed by a
        space (<eos> as a newline)."""
        text = self.decode([k])
        return text if self.level == "char" or text == "\n" else text + " "

    def text_stream(self):
        """-> write(k) -> the text that token ``k`` adds to a text generated token by
        token (for printing as it comes)."""
        return self.token_text

    def to_json(self):
        return {"level": self.level, "specials": self.specials,
                "tokens": self.tokens[len(self.specials):]}

    @classmethod
    def from_json(cls, record):
        if isinstance(record, dict) and record.get("level") == "bpe":
            from .bpe import BPEVocab

            return BPEVocab.from_json(record)
        try:
            return cls(record["tokens"], record["level"], record["specials"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"vocabulary: expected keys level, specials, tokens ({error})") from None

    def save(self, path):
        write_atomically(path, json.dumps(self.to_json(), ensure_ascii=False).encode("utf-8"))

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_json(json.load(f))


def tokenize_words(text):
    """Words split on whitespace, each line ending in <eos>."""
    tokens = []
    for line in text.splitlines():
        words = line.split()
        if words:
            tokens += words + [EOS]
    return tokens
