"""The word level's first pass, vectorised: a block's words looked up by their bytes, in
NumPy, instead of one ``str`` and one dictionary lookup per word.

A word of at most 16 UTF-8 bytes *is* its key: its bytes zero-padded to two uint64
(``lo``, ``hi``) and its length. ``KnownWords`` holds the words known when a worker
starts in an open-addressing table of those keys (slot = a mix of the key, linear
probing); a word is found when the key in its slot, or in one of the next
``max_probe`` slots, is equal in all three parts, so a lookup is exact. The rest (new
words, and the rare words of more than 16 bytes) take the exact ``str`` path, one
string per distinct word: the short ones grouped by key (a group is checked to hold
one word, byte for byte) and looked up by their string.

The tokens are those of ``tokenize_words`` (``levels.word_ids``): the words of the
whitespace that ``str.split`` knows and a line end after each line with a word. A block
with a whitespace character outside ASCII (NBSP, U+2028, ...) is not served here: the
caller takes the ``str`` path.
"""
import re

import numpy as np

# str.split's whitespace and str.splitlines's line breaks, within ASCII
ASCII_SPACE = b"\t\n\v\f\r\x1c\x1d\x1e\x1f "
ASCII_BREAK = b"\n\v\f\r\x1c\x1d\x1e"
OTHER_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
KEY_BYTES = 16
IS_SPACE = np.zeros(256, bool)
IS_SPACE[list(ASCII_SPACE)] = True
IS_BREAK = np.zeros(256, bool)
IS_BREAK[list(ASCII_BREAK)] = True
# MASK[n]: the low n bytes of a uint64 (n = 0 .. 8)
MASK = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)
MIX = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: spreads the keys over the slots


def served(block):
    """Whether ``block``'s whitespace is all ASCII (its words are then cut by bytes)."""
    return block.isascii() or OTHER_SPACE.search(block) is None


def word_spans(data):
    """The words of the bytes ``data`` (uint8): their start and end offsets."""
    padded = np.ones(len(data) + 2, bool)
    padded[1:-1] = IS_SPACE[data]
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[0::2], edges[1::2]


def word_keys(data, starts, lengths):
    """-> (lo, hi): the first 16 bytes of each word, zero-padded, as two uint64."""
    padded = np.zeros(len(data) + KEY_BYTES, np.uint8)
    padded[: len(data)] = data
    at_byte = np.ndarray((len(data) + 9,), "<u8", padded, 0, (1,))  # a uint64 at every byte
    lo = at_byte[starts] & MASK[np.minimum(lengths, 8)]
    hi = at_byte[starts + 8] & MASK[np.clip(lengths - 8, 0, 8)]
    return lo, hi


def joined_words(data, starts, lengths):
    """The words at ``starts`` as one str, a space after each."""
    ends = np.cumsum(lengths + 1)
    source = np.arange(ends[-1]) + np.repeat(starts - (ends - lengths - 1), lengths + 1)
    joined = data[np.minimum(source, len(data) - 1)]
    joined[ends - 1] = ord(" ")
    return joined.tobytes().decode("utf-8")


def mix(lo, hi):
    return (lo ^ (hi * MIX)) * MIX


def line_end_places(data, starts):
    """Where the line ends go among the words: after how many words each one comes
    (a line break ends a line with a word: one after another, or before any word of the
    block, ends none)."""
    words_before = np.searchsorted(starts, np.flatnonzero(IS_BREAK[data]))
    return words_before[np.diff(words_before, prepend=0) > 0]


class KnownWords:
    """``known`` (word -> id, a dict) as a table of keys, and ``ids(block)``: the ids of
    ``tokenize_words(block)``, a known word's id or -(k + 1) for the k-th word not known
    (as ``levels._block_ids`` gives them). A text holds no NUL byte, so a word's padded
    bytes say its length and an empty slot is one whose ``lo`` is 0."""

    def __init__(self, known, line_end):
        self.known, self.line_end = known, line_end
        words = [w for w in known if w != line_end]
        data = np.frombuffer(" ".join(words).encode("utf-8"), np.uint8)
        starts, ends = word_spans(data)
        short = ends - starts <= KEY_BYTES
        lo, hi = word_keys(data, starts[short], (ends - starts)[short])
        word_ids = np.array([known[w] for w in words], np.int64)[short]
        self.bits = max(int(np.ceil(np.log2(4 * len(word_ids) + 1))), 4)  # load <= 1/4
        size = 1 << self.bits
        self.lo, self.hi, self.word_ids = (np.zeros(size, np.uint64), np.zeros(size, np.uint64),
                                           np.zeros(size, np.int64))
        self.max_probe = 0
        for word, slot in enumerate(self._slots(lo, hi).tolist()):
            probe = 0
            while self.lo[(slot + probe) & (size - 1)]:
                probe += 1
            at = (slot + probe) & (size - 1)
            self.lo[at], self.hi[at], self.word_ids[at] = lo[word], hi[word], word_ids[word]
            self.max_probe = max(self.max_probe, probe)

    def _slots(self, lo, hi):
        return (mix(lo, hi) >> np.uint64(64 - self.bits)).astype(np.int64)

    def ids(self, block):
        """-> (the words not known, in the order first seen; the tokens' ids), or None
        when ``block`` is not served or two new words share a key (the ``str`` path then
        gives the ids)."""
        if not served(block):
            return None
        data = np.frombuffer(block.encode("utf-8"), np.uint8)
        starts, ends = word_spans(data)
        lengths = ends - starts
        lo, hi = word_keys(data, starts, lengths)
        ids = self._look_up(lo, hi, lengths <= KEY_BYTES)
        new_words = self._missing(ids, data, starts, lengths, lo, hi)
        if new_words is None:
            return None
        return new_words, np.insert(ids, line_end_places(data, starts), self.known[self.line_end])

    def _look_up(self, lo, hi, short):
        """-> the ids of the words found in the table (of at most 16 bytes), -1 elsewhere.
        Linear probing: a word is absent once an empty slot is reached."""
        mask = len(self.lo) - 1
        slots = self._slots(lo, hi)
        ids = np.full(len(lo), -1, np.int64)
        pending = np.flatnonzero(short)
        for probe in range(self.max_probe + 1):
            at = (slots[pending] + probe) & mask
            table_lo = self.lo[at]
            found = (table_lo == lo[pending]) & (self.hi[at] == hi[pending])
            ids[pending[found]] = self.word_ids[at[found]]
            pending = pending[~found & (table_lo != 0)]
        return ids

    def _missing(self, ids, data, starts, lengths, lo, hi):
        """Gives the words not in the table their ids -> the new words in the order first
        seen, or None when a key is shared by two words."""
        missing = np.flatnonzero(ids < 0)
        if not len(missing):
            return []
        short, long = (missing[lengths[missing] <= KEY_BYTES],
                       missing[lengths[missing] > KEY_BYTES])  # long: each occurrence looked up
        _, first, group_of = np.unique(mix(lo[short], hi[short]),
                                       return_index=True, return_inverse=True)
        group_of = group_of.reshape(-1)
        one = short[first[group_of]]  # the first word of each word's group
        if not ((lo[short] == lo[one]).all() and (hi[short] == hi[one]).all()):
            return None
        distinct = np.sort(np.concatenate([short[first], long]))
        new = {}
        for word_at, word in zip(distinct.tolist(), joined_words(data, starts[distinct],
                                                                 lengths[distinct]).split()):
            known = self.known.get(word)  # a word of more than 16 bytes may be known
            ids[word_at] = new.setdefault(word, -len(new) - 1) if known is None else known
        ids[short] = ids[short[first]][group_of]
        return list(new)
