"""Preparing a corpus of any size: text files in, flat token files out, in bounded memory.

    prepare(["corpus.txt"], "corpus/", level="char")

Two streamed passes over the text (``stream.TextStream``, chunks of 4 MiB): the first
builds the vocabulary (char: every code point seen; word: the counts, ``min_count``,
``max_vocab``, the rest ``<unk>``; bpe: a byte-level BPE of ``vocab_size`` tokens
trained by the ``tokenizers`` library) and counts the tokens; the second encodes. The
directory then holds, written under temporary names and renamed at the end (an
interrupted run leaves no file under a final name; ``meta.json``, written last, marks a
finished corpus):

    train.bin, valid.bin, test.bin   the splits' token ids, one flat array each, of the
                                     smallest unsigned dtype holding the vocabulary
    vocab.json                       the vocabulary (``Vocab.to_json``)
    tokenizer.json                   bpe only: the tokenizer in its library's own format
    meta.json                        format and version, level, dtype, the vocabulary size,
                                     each split's tokens (and characters: char, bpe), the
                                     source files with their size and sha256

Splits: the last ``valid_fraction`` and ``test_fraction`` of the training text (as
``split_ids``: char and word splits are cut at exactly its token counts; bpe splits at
the first line start from the same fraction of the characters, where a cut leaves the
ids unchanged), or the files ``valid`` and ``test``, encoded with the training text's
vocabulary. Several source files are read as one text, in order.
"""
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

from ..files.atomic import write_atomically
from ..files.lock import lock_run_directory
from .stream import CHUNK_BYTES, TextStream
from .text import CorpusError
from .vocab import EOS, NULL, UNK, Vocab

FORMAT, VERSION = "rnnlab-tokens", 1
SPLITS = ("train", "valid", "test")
LEVELS = ("char", "word", "bpe")


def token_dtype(vocab_size):
    """The smallest unsigned dtype that holds ids 0 .. vocab_size - 1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise ValueError(f"vocab_size: {vocab_size:,} ids do not fit in 32 bits")


def prepare(sources, out, level="char", min_count=1, max_vocab=None, vocab_size=8000,
            valid_fraction=0.05, test_fraction=0.05, valid=None, test=None, raw=False,
            chunk_bytes=CHUNK_BYTES, progress=None, on_notice=None):
    """Prepare ``sources`` (text files) into the directory ``out`` -> its ``TokenFile``.
    ``progress(done_bytes, total_bytes, phase)`` is called as the text is read, and
    ``on_notice(line)`` with what reading changed (as ``load_text`` says it)."""
    from .token_file import TokenFile

    sources = [Path(s) for s in ([sources] if isinstance(sources, (str, os.PathLike)) else sources)]
    _check_arguments(sources, level, min_count, max_vocab, vocab_size, valid_fraction,
                     test_fraction, valid, test)
    held_out = {name: Path(p) for name, p in (("valid", valid), ("test", test)) if p is not None}
    streams = {name: [TextStream(p, raw, chunk_bytes) for p in paths]
               for name, paths in (("train", sources),
                                   *((k, [p]) for k, p in held_out.items()))}
    out = Path(out)
    _check_out(out)
    meter = _Meter(progress, sum(p.stat().st_size for p in sources) * 2
                   + sum(p.stat().st_size for p in held_out.values()))
    with lock_run_directory(out):
        writers = {name: _TokenWriter(out, name) for name in SPLITS}
        try:
            vocab, totals = _vocabulary(streams["train"], level, min_count, max_vocab,
                                        vocab_size, meter)
            dtype = token_dtype(len(vocab))
            encode = _encoder(vocab)
            if held_out:
                _encode_into(streams["train"], encode, writers["train"], dtype, meter, "encode",
                             level)
                for name in held_out:
                    _encode_into(streams[name], encode, writers[name], dtype, meter,
                                 f"encode {name}", level)
            else:
                limits = _split_limits(totals, level, valid_fraction, test_fraction)
                _encode_split(streams["train"], encode, writers, dtype, meter, level, limits)
            meta = _meta(level, vocab, dtype, writers, streams, raw, held_out,
                         (valid_fraction, test_fraction))
            for stream in (s for group in streams.values() for s in group):
                for notice in stream.notices() if on_notice else ():
                    on_notice(notice)
            for writer in writers.values():
                writer.finish()
            vocab.save(out / "vocab.json")
            if level == "bpe":
                vocab.save_tokenizer(out / "tokenizer.json")
            write_atomically(out / "meta.json", json.dumps(meta, indent=1).encode("utf-8"))
        finally:
            for writer in writers.values():
                writer.discard()
    return TokenFile(out)


def _check_arguments(sources, level, min_count, max_vocab, vocab_size, valid_fraction,
                     test_fraction, valid, test):
    if not sources:
        raise ValueError("sources: expected at least one text file")
    if level not in LEVELS:
        raise ValueError(f"level: expected one of {LEVELS}, got {level!r}")
    if not (isinstance(min_count, int) and min_count >= 1):
        raise ValueError(f"min_count: expected a positive integer, got {min_count!r}")
    if max_vocab is not None and not (isinstance(max_vocab, int) and max_vocab >= 4):
        raise ValueError(f"max_vocab: expected an integer of at least 4 (the specials and a "
                         f"word), got {max_vocab!r}")
    if not (isinstance(vocab_size, int) and vocab_size >= 258):
        raise ValueError(f"vocab_size: expected an integer of at least 258 (the 256 bytes "
                         f"and two specials), got {vocab_size!r}")
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name}: expected a fraction in [0, 1), got {value!r}")
    if valid_fraction + test_fraction >= 1:
        raise ValueError(f"valid_fraction + test_fraction: expected less than 1, got "
                         f"{valid_fraction + test_fraction}")
    if test is not None and valid is None:
        raise ValueError("test: give the valid file too (held-out files replace the fractions)")


def _check_out(out):
    if out.exists() and not out.is_dir():
        raise CorpusError(f"{out}: is a file, expected a directory for the prepared corpus")
    if (out / "meta.json").exists():
        raise CorpusError(f"{out}: already holds a prepared corpus; choose another directory "
                          f"or remove it")


class _Meter:
    """Bytes read so far, for ``progress(done, total, phase)``."""

    def __init__(self, progress, total):
        self.progress, self.total, self.done, self.phase = progress, total, 0, ""

    def reading(self, stream, phase):
        self.phase = phase
        stream.on_bytes = self.advance
        return stream

    def advance(self, n):
        self.done += n
        if self.progress:
            self.progress(self.done, self.total, self.phase)


def _texts(streams, meter, phase):
    for stream in streams:
        yield from meter.reading(stream, phase)


def _lines(streams, meter, phase):
    """Whole lines (with their line end), each file's last line flushed at its end."""
    for stream in streams:
        tail = ""
        for text in meter.reading(stream, phase):
            lines = (tail + text).splitlines(keepends=True)
            tail = "" if _ends_line(lines[-1]) else lines.pop()
            if lines:
                yield lines
        if tail:
            yield [tail]


def _ends_line(line):
    return line.splitlines()[0] != line if line else True


def _vocabulary(streams, level, min_count, max_vocab, vocab_size, meter):
    """First pass -> (vocab, totals: {"tokens", "characters"} of the training text)."""
    phase = "vocabulary"
    if level == "char":
        seen = np.zeros(0x110000, bool)
        for text in _texts(streams, meter, phase):
            seen[_code_points(text)] = True
        vocab = Vocab([chr(c) for c in np.flatnonzero(seen)], "char", [NULL, UNK])
        characters = sum(s.characters for s in streams)
        return vocab, {"tokens": characters, "characters": characters}
    if level == "word":
        counts, tokens = Counter(), 0
        for lines in _lines(streams, meter, phase):
            words = _words(lines)
            counts.update(words)
            tokens += len(words)
        vocab = Vocab.from_word_counts(counts, min_count, max_vocab)
        return vocab, {"tokens": tokens, "characters": sum(s.characters for s in streams)}
    from .bpe import train_bpe

    vocab = train_bpe(_texts(streams, meter, phase), vocab_size)
    return vocab, {"tokens": None, "characters": sum(s.characters for s in streams)}


def _code_points(text):
    return np.frombuffer(text.encode("utf-32-le"), np.uint32)


def _words(lines):
    """``tokenize_words`` of whole lines."""
    words = []
    for line in lines:
        split = line.split()
        if split:
            words += split
            words.append(EOS)
    return words


def _encoder(vocab):
    """-> encode(block) -> ids, for the blocks the second pass reads at this level
    (text chunks, lists of whole lines, texts cut at line starts)."""
    unk = vocab.index[UNK]
    if vocab.level == "char":
        table = np.full(0x110000, unk, np.int64)
        for token, k in vocab.index.items():
            if len(token) == 1:
                table[ord(token)] = k
        return lambda text: table[_code_points(text)]
    if vocab.level == "word":
        get = vocab.index.get
        return lambda lines: np.fromiter((get(w, unk) for w in _words(lines)), np.int64)
    return vocab.encode_pieces


def _blocks(streams, level, meter, phase):
    """The second pass's blocks: text chunks (char), lists of lines (word), texts cut at
    a line start followed by a non-space (bpe)."""
    if level == "char":
        yield from _texts(streams, meter, phase)
    elif level == "word":
        yield from _lines(streams, meter, phase)
    else:
        from .bpe import LINE_START

        tail = ""
        for text in _texts(streams, meter, phase):
            text = tail + text
            cut = _last_match(LINE_START, text)
            if cut:
                yield text[:cut]
                text = text[cut:]
            tail = text
        if tail:
            yield tail


def _last_match(pattern, text):
    last = 0
    for match in pattern.finditer(text, max(0, len(text) - (1 << 16))):
        last = match.start()
    if not last:
        for match in pattern.finditer(text):
            last = match.start()
    return last


def _encode_into(streams, encode, writer, dtype, meter, phase, level):
    for block in _blocks(streams, level, meter, phase):
        writer.write(encode(block), dtype, None if level == "word" else len(block))


def _split_limits(totals, level, valid_fraction, test_fraction):
    """The training text's split ends, as ``split_ids`` rounds them: in tokens (char,
    word) or in characters (bpe, each moved on to the next line start)."""
    n = totals["characters"] if level == "bpe" else totals["tokens"]
    train_end = int(round(n * (1 - valid_fraction - test_fraction)))
    valid_end = train_end + int(round(n * valid_fraction))
    return {"train": train_end, "valid": valid_end, "test": None}


def _encode_split(streams, encode, writers, dtype, meter, level, limits):
    """Second pass over the training text, each token (bpe: each text block) to the
    split it falls in."""
    split, position = 0, 0  # the split being written; tokens (chars for bpe) so far
    for block in _blocks(streams, level, meter, "encode"):
        if level == "bpe":
            while SPLITS[split] != "test" and position + len(block) > limits[SPLITS[split]]:
                cut = _line_start_from(block, limits[SPLITS[split]] - position)
                if cut is None:
                    break
                writers[SPLITS[split]].write(encode(block[:cut]), dtype, cut)
                block, position, split = block[cut:], position + cut, split + 1
            if block:
                writers[SPLITS[split]].write(encode(block), dtype, len(block))
                position += len(block)
            continue
        ids, start = encode(block), 0
        while True:  # the ids of the block, cut where a split ends (a split may be empty)
            name = SPLITS[split]
            end = len(ids) if name == "test" else min(len(ids), start + limits[name] - position)
            writers[name].write(ids[start:end], dtype, end - start if level == "char" else None)
            position, start = position + end - start, end
            if name != "test" and position == limits[name]:
                split += 1
            elif start == len(ids):
                break


def _line_start_from(block, offset):
    """The first place >= ``offset`` in ``block`` where it may be cut (a line start; the
    block's own start counts as one), or None when there is none in it."""
    from .bpe import LINE_START

    if offset <= 0:
        return 0
    match = LINE_START.search(block, offset)
    return None if match is None else match.start()


class _TokenWriter:
    """One split's token file, written under a temporary name until ``finish``."""

    def __init__(self, out, name):
        self.final = out / f"{name}.bin"
        self.partial = out / f".{name}.bin.partial"
        self.file = open(self.partial, "wb")
        self.tokens, self.characters, self.count_characters = 0, 0, True

    def write(self, ids, dtype, characters):
        self.file.write(np.asarray(ids).astype(dtype, copy=False).tobytes())
        self.tokens += len(ids)
        if characters is None:
            self.count_characters = False
        else:
            self.characters += characters

    def finish(self):
        self.file.close()
        os.replace(self.partial, self.final)

    def discard(self):
        if not self.file.closed:
            self.file.close()
        if self.partial.exists():
            self.partial.unlink()


def _meta(level, vocab, dtype, writers, streams, raw, held_out, fractions):
    return {
        "format": FORMAT, "version": VERSION, "level": level, "dtype": dtype.name,
        "vocab_size": len(vocab), "raw_text": bool(raw),
        "splits": {name: {"tokens": w.tokens,
                          "characters": w.characters if w.count_characters else None}
                   for name, w in writers.items()},
        "split_by": "files" if held_out else {"valid_fraction": fractions[0],
                                              "test_fraction": fractions[1]},
        "sources": {name: [s.identity() for s in group] for name, group in streams.items()},
    }
