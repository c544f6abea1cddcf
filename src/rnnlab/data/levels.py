"""The three token levels of ``prepare``: how each builds its vocabulary in a streamed pass,
cuts the text into blocks and encodes a block.

- char: every code point seen (``Vocab.characters``); blocks are the stream's chunks,
  encoded through a table indexed by code point. A text may be cut anywhere.
- word: ``tokenize_words`` (whitespace-separated words, ``<eos>`` after each line that
  has one): blocks end at a line end; the first pass gives every word a provisional id
  in the order first seen and writes them (``ProvisionalIds``), so the second pass is a
  table lookup of those ids, not a second read of the text. Worker processes look the
  words up by their bytes (``word_keys.KnownWords``).
- bpe: a byte-level BPE (``bpe.train_bpe``); blocks end where a cut leaves the ids
  unchanged (``bpe.LINE_CUT``; ``bpe.CUT`` in a text of long lines; in a text with no
  whitespace for MAX_BLOCK characters, at that length: the one place where the ids may
  differ from the text's encoded whole).
"""
import os
import re
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from itertools import chain

import numpy as np

from .batching import release_pages
from .vocab import EOS, NULL, UNK, Vocab
from .word_keys import KnownWords

# where str.splitlines ends a line; "\r\n" gives two, the second an empty line (no <eos>)
LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
LINE_END = "\x00"  # stands for a line break among the words (a text holds no NUL)
MAX_CODE_POINT = 0x10FFFF
LONG_LINE = 1 << 20  # characters of a bpe block with no line break before any whitespace cuts it
MAX_BLOCK = 1 << 24  # characters a bpe block may grow to while no cut is found


def token_dtype(vocab_size):
    """The smallest unsigned dtype that holds ids 0 .. vocab_size - 1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise ValueError(f"vocab_size: {vocab_size:,} ids do not fit in 32 bits")


def code_points(text):
    """The code points of ``text``: uint8 for an ASCII text (the common case: a small
    table stays in cache), else uint32."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), np.uint8)
    return np.frombuffer(text.encode("utf-32-le"), np.uint32)


def texts(streams, meter, phase):
    for stream in streams:
        yield from meter.reading(stream, phase)


class CharLevel:
    name = "char"

    def vocabulary(self, streams, meter):
        """-> (vocab, the text's tokens = characters)."""
        seen = np.zeros(MAX_CODE_POINT + 1, bool)
        for text in texts(streams, meter, "vocabulary"):
            seen[code_points(text)] = True
        vocab = Vocab([chr(c) for c in np.flatnonzero(seen)], "char", [NULL, UNK])
        return vocab, sum(s.characters for s in streams)

    @staticmethod
    def blocks(streams, meter, phase):
        return texts(streams, meter, phase)

    @staticmethod
    def encoder(vocab):
        table = np.full(MAX_CODE_POINT + 1, vocab.index[UNK], token_dtype(len(vocab)))
        for token in vocab.tokens[len(vocab.specials):]:
            table[ord(token)] = vocab.index[token]
        return lambda text: table[code_points(text)]

    @staticmethod
    def cut_from(block, offset):
        """Where a block may be cut at or after ``offset``: anywhere."""
        return max(offset, 0)


class BPELevel:
    name = "bpe"

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size

    def vocabulary(self, streams, meter):
        """-> (vocab, the text's characters: bpe splits are cut by characters)."""
        from .bpe import train_bpe

        vocab = train_bpe(texts(streams, meter, "vocabulary"), self.vocab_size)
        return vocab, sum(s.characters for s in streams)

    @staticmethod
    def blocks(streams, meter, phase):
        """The text in blocks that end where a cut leaves the ids unchanged."""
        return cut_blocks(texts(streams, meter, phase), _last_cut)

    @staticmethod
    def encoder(vocab):
        return vocab.encode_pieces

    @staticmethod
    def cut_from(block, offset):
        """The first cut at a line break at or after ``offset`` (a block starts at a cut),
        or None."""
        from .bpe import LINE_CUT

        if offset <= 0:
            return 0
        match = LINE_CUT.search(block, offset)
        return None if match is None else match.end()


def cut_blocks(chunks, last_cut):
    """Chunks of a text cut again into blocks that end where ``last_cut(text)`` says
    (0: no place yet, wait for more); the rest comes last."""
    tail = ""
    for text in chunks:
        text = tail + text
        cut = last_cut(text)
        if cut:
            yield text[:cut]
        tail = text[cut:]
    if tail:
        yield tail


def _last_cut(text):
    """The last place to cut ``text`` (0: none yet, keep it whole): at a line break; in
    a text of lines longer than LONG_LINE, at any whitespace; with no whitespace for
    MAX_BLOCK characters, at the end."""
    from .bpe import CUT, LINE_CUT

    cut = _last_end(LINE_CUT, text)
    if not cut and len(text) >= LONG_LINE:
        cut = _last_end(CUT, text)
    return cut or (len(text) if len(text) >= MAX_BLOCK else 0)


def _last_end(pattern, text, window=1 << 16):
    """The end of the last match of ``pattern`` in ``text`` (0 when none), looked for in
    its last ``window`` characters first."""
    for start in (max(0, len(text) - window), 0):
        ends = [m.end() for m in pattern.finditer(text, start)]
        if ends or start == 0:
            return ends[-1] if ends else 0
    return 0


class WordLevel:
    name = "word"

    def __init__(self, min_count, max_vocab):
        self.min_count, self.max_vocab = min_count, max_vocab
        self.provisional = None  # the ProvisionalIds the first pass writes

    def vocabulary(self, streams, meter):
        """Counts every word, writing each token's provisional id to ``self.provisional``
        (a ProvisionalIds) -> (vocab, the text's tokens).

        The first block is read here; the words of the others are looked up in worker
        processes, one per core, in the words known after the first block
        (``_block_ids``); only the words new to them are looked up here."""
        ids_of = _FirstSeenIds({LINE_END: 0})
        counts = _Counts()
        blocks = iter(self.blocks(streams, meter, "vocabulary"))
        first = next(blocks, None)
        if first is not None:
            counts.add(self.provisional.write(word_ids(first, ids_of.__getitem__)))
        for new_words, ids in _in_workers(_block_ids, blocks, _know, (dict(ids_of),)):
            table = np.fromiter(map(ids_of.__getitem__, new_words), np.int64, len(new_words))
            new = ids < 0
            ids[new] = table[-ids[new] - 1]
            counts.add(self.provisional.write(ids))
        counts = counts.total
        words = list(ids_of)  # in provisional id order: LINE_END is 0
        vocab = Vocab.from_word_counts(Counter(dict(zip(words[1:], counts[1:].tolist()))),
                                       self.min_count, self.max_vocab)
        unk = vocab.index[UNK]
        self.provisional.remap = np.array(
            [vocab.index[EOS]] + [vocab.index.get(w, unk) for w in words[1:]], np.int64)
        return vocab, self.provisional.tokens

    @staticmethod
    def blocks(streams, meter, phase):
        """Whole lines: each block ends at a line break. A line break after each file
        ends its last line there (after one, it adds an empty line: no <eos>)."""
        for stream in streams:
            yield from cut_blocks(chain(meter.reading(stream, phase), ["\n"]), _last_break)

    @staticmethod
    def encoder(vocab):
        """For a held-out file: its words' ids in ``vocab``, <unk> for the rest."""
        ids_of = dict(vocab.index)
        ids_of[LINE_END] = len(vocab)  # stands for the line ends until they are found
        unk, eos = vocab.index[UNK], vocab.index[EOS]

        def encode(block):
            ids = word_ids(block, lambda w: ids_of.get(w, unk))
            ids[ids == len(vocab)] = eos
            return ids

        return encode


def word_ids(block, id_of):
    """The ids of ``tokenize_words(block)`` for a block of whole lines: ``id_of(word)``
    for each word, and ``id_of(LINE_END)`` after each line that has a word.

    Every line break becomes a LINE_END word, so one ``str.split`` finds words and line
    ends together; a LINE_END at the start (the block starts a line) or after another
    ends a line without words, and is dropped."""
    if block.isascii() and not any(c in block for c in "\r\v\f\x1c\x1d\x1e"):
        block = block.replace("\n", f" {LINE_END} ")  # the common case, 10x faster
    else:
        block = LINE_BREAK.sub(f" {LINE_END} ", block)
    words = block.split()
    ids = np.fromiter(map(id_of, words), np.int64, len(words))
    line_end = ids == id_of(LINE_END)
    empty = line_end & np.concatenate([[True], line_end[:-1]])
    return ids[~empty]


_KNOWN = None  # in a worker process: the words known when it started (a KnownWords)


def _know(known):
    global _KNOWN
    _KNOWN = KnownWords(known, LINE_END)


def _block_ids(block):
    """-> (the block's words not known, in the order first seen; each token's id: a known
    word's provisional id, -(k + 1) for the k-th new word). By the words' bytes
    (``word_keys``) where the block's whitespace is ASCII, else by their strings."""
    found = _KNOWN.ids(block)
    if found is None:
        ids_of = _NewWords(_KNOWN.known)
        found = ids_of.new, word_ids(block, ids_of.__getitem__)
    return found[0], found[1].astype(np.int32)  # half to send


class _NewWords(dict):
    """The known words' ids; a word not known gets -(k + 1), k its rank among the new."""

    def __init__(self, known):
        super().__init__(known)
        self.new = []

    def __missing__(self, word):
        self.new.append(word)
        self[word] = value = -len(self.new)
        return value


class _Counts:
    def __init__(self):
        self.total = np.zeros(0, np.int64)

    def add(self, ids):
        counts = np.bincount(ids)
        if len(counts) > len(self.total):
            self.total = np.concatenate([self.total, np.zeros(len(counts) - len(self.total), np.int64)])
        self.total[: len(counts)] += counts


def _in_workers(function, items, initializer, initargs, ahead=2):
    """``map(function, items)`` in order, on one worker process per core (started with
    ``initializer(*initargs)``; at most ``ahead`` items per worker in flight, so memory
    stays bounded); in this process when there is one core or one item."""
    items = iter(items)
    first = next(items, None)
    if first is None:
        return
    second = next(items, None)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if second is None or cores < 2:
        initializer(*initargs)
        yield from map(function, (first,) if second is None else (first, second))
        yield from map(function, items)
        return
    with ProcessPoolExecutor(cores, initializer=initializer, initargs=initargs) as pool:
        pending = deque(pool.submit(function, item) for item in (first, second))
        for item in items:
            if len(pending) >= ahead * cores:
                yield pending.popleft().result()
            pending.append(pool.submit(function, item))
        while pending:
            yield pending.popleft().result()


class _FirstSeenIds(dict):
    """word -> id, a word not seen before getting the next id."""

    def __missing__(self, word):
        self[word] = value = len(self)
        return value


class ProvisionalIds:
    """The word level's first-pass ids, in a temporary file (uint32), and ``remap``:
    provisional id -> id in the vocabulary."""

    def __init__(self, path):
        self.path, self.file, self.tokens, self.remap = path, open(path, "wb"), 0, None

    def write(self, ids):
        """Appends ``ids`` -> ``ids``."""
        self.file.write(ids.astype(np.uint32).tobytes())
        self.tokens += len(ids)
        return ids

    def final_ids(self, chunk_tokens=1 << 22):
        """The text's ids in the vocabulary, a chunk at a time."""
        self.file.close()
        if not self.tokens:
            return
        ids = np.memmap(self.path, np.uint32, mode="r", shape=(self.tokens,))
        for start in range(0, self.tokens, chunk_tokens):
            yield self.remap[ids[start : start + chunk_tokens]]
            release_pages(ids)

    def discard(self):
        self.file.close()
        if self.path.exists():
            self.path.unlink()


def _last_break(text):
    """The position after the last line break of ``text`` (0 when there is none)."""
    last = text.rfind("\n") + 1
    for match in LINE_BREAK.finditer(text, last):  # a rarer break after the last "\n"
        last = match.end()
    return last
