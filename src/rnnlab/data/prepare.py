"""Preparing a corpus of any size: text files in, flat token files out, in bounded memory.

    prepare(["corpus.txt"], "corpus/", level="char")

Two streamed passes (``stream.TextStream``, chunks of 4 MiB; ``levels`` says how each
level reads): the first builds the vocabulary (char: every code point seen; word: the
counts, ``min_count``, ``max_vocab``, the rest ``<unk>``; bpe: a byte-level BPE of
``vocab_size`` tokens trained by the ``tokenizers`` library) and counts the tokens; the
second encodes (word: from the first pass's provisional ids). The directory then holds, written under temporary names and renamed at the end (an
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
from pathlib import Path

import numpy as np

from ..files.atomic import write_atomically
from ..files.lock import lock_run_directory
from .levels import BPELevel, CharLevel, ProvisionalIds, WordLevel, token_dtype
from .stream import CHUNK_BYTES, TextStream
from .text import CorpusError

FORMAT, VERSION = "rnnlab-tokens", 1
SPLITS = ("train", "valid", "test")
LEVELS = ("char", "word", "bpe")


def prepare(sources, out, level="char", min_count=1, max_vocab=None, vocab_size=8000,
            valid_fraction=0.05, test_fraction=0.05, valid=None, test=None, raw=False,
            chunk_bytes=CHUNK_BYTES, progress=None, on_notice=None):
    """Prepare ``sources`` (text files) into the directory ``out`` -> its ``TokenFile``.
    ``progress(done_bytes, total_bytes, phase)`` is called as the text is read, and
    ``on_notice(line)`` with what reading changed (as ``load_text`` says it)."""
    from ..memory import keep_freed_memory
    from .token_file import TokenFile

    keep_freed_memory(1 << 28)  # the blocks' arrays reuse freed memory, not fresh pages
    sources = [Path(s) for s in ([sources] if isinstance(sources, (str, os.PathLike)) else sources)]
    _check_arguments(sources, level, min_count, max_vocab, vocab_size, valid_fraction,
                     test_fraction, valid, test)
    held_out = {name: Path(p) for name, p in (("valid", valid), ("test", test)) if p is not None}
    streams = {name: [TextStream(p, raw, chunk_bytes) for p in paths]
               for name, paths in (("train", sources), *((k, [p]) for k, p in held_out.items()))}
    for stream in (s for group in streams.values() for s in group):
        if not stream.regular:
            raise CorpusError(f"{stream.path}: not a regular file (a pipe?); preparing reads "
                              f"it twice: save the text to a file first")
    out = Path(out)
    _check_out(out)
    reads = 1 if level == "word" else 2  # word: the second pass reads the provisional ids
    meter = _Meter(progress, sum(p.stat().st_size for p in sources) * reads
                   + sum(p.stat().st_size for p in held_out.values()))
    tokens = {"char": CharLevel(), "word": WordLevel(min_count, max_vocab),
              "bpe": BPELevel(vocab_size)}[level]
    created = not out.exists()
    try:
        with lock_run_directory(out):
            _prepare_into(out, level, tokens, streams, held_out, meter, raw,
                          (valid_fraction, test_fraction), on_notice)
    except BaseException:
        if created:  # a failed preparation leaves no directory it made
            (out / ".lock").unlink(missing_ok=True)
            out.rmdir()
        raise
    return TokenFile(out, check_ids=False)  # written just now


def _prepare_into(out, level, tokens, streams, held_out, meter, raw, fractions, on_notice):
    writers = {name: _TokenWriter(out, name) for name in SPLITS}
    provisional = ProvisionalIds(out / ".provisional.bin.partial") if level == "word" else None
    tokens.provisional = provisional
    try:
        vocab, total = tokens.vocabulary(streams["train"], meter)
        dtype, encode = token_dtype(len(vocab)), tokens.encoder(vocab)
        limits = {"train": None, "valid": None, "test": None} if held_out else \
            _split_limits(total, *fractions)
        if provisional is not None:
            _route_ids(provisional.final_ids(), writers, dtype, limits)
        else:
            _route_text(tokens.blocks(streams["train"], meter, "encode"), encode, writers,
                        dtype, limits, tokens.cut_from)
        for name in held_out:
            for block in tokens.blocks(streams[name], meter, f"encode {name}"):
                writers[name].write(encode(block), dtype,
                                    None if level == "word" else len(block))
        meta = _meta(level, vocab, dtype, writers, streams, raw, held_out, fractions)
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
        if provisional is not None:
            provisional.discard()


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


def _split_limits(total, valid_fraction, test_fraction):
    """Where the training text's splits end, as ``split_ids`` rounds them (in tokens; in
    characters for bpe), ``None`` for the last."""
    train_end = int(round(total * (1 - valid_fraction - test_fraction)))
    return {"train": train_end, "valid": train_end + int(round(total * valid_fraction)),
            "test": None}


def _route_ids(chunks, writers, dtype, limits):
    """Each id of ``chunks`` (arrays, in text order) to the split it falls in."""
    split, position = 0, 0  # the split being written, the ids written so far
    for ids in chunks:
        start = 0
        while True:  # the chunk, cut where a split ends (a split may be empty)
            name, end = SPLITS[split], len(ids)
            if limits[name] is not None:
                end = min(end, start + limits[name] - position)
            writers[name].write(ids[start:end], dtype, None)
            position, start = position + end - start, end
            if limits[name] is not None and position == limits[name]:
                split += 1
            elif start == len(ids):
                break


def _route_text(blocks, encode, writers, dtype, limits, cut_from):
    """Each text block, encoded, to the split it falls in: a split ends at the first place
    ``cut_from`` allows from its limit (in characters)."""
    split, position = 0, 0  # the split being written, the characters written so far
    for block in blocks:
        while limits[SPLITS[split]] is not None and position + len(block) >= limits[SPLITS[split]]:
            cut = cut_from(block, limits[SPLITS[split]] - position)
            if cut is None:  # no place to cut here: the split ends in a later block
                break
            writers[SPLITS[split]].write(encode(block[:cut]), dtype, cut)
            block, position, split = block[cut:], position + cut, split + 1
        writers[SPLITS[split]].write(encode(block), dtype, len(block))
        position += len(block)


class _TokenWriter:
    """One split's token file, written under a temporary name until ``finish``."""

    def __init__(self, out, name):
        self.final = out / f"{name}.bin"
        self.partial = out / f".{name}.bin.partial"
        self.file = open(self.partial, "wb")
        self.tokens, self.characters = 0, 0

    def write(self, ids, dtype, characters):
        """``characters``: those the ids spell (None where the level does not count them)."""
        self.file.write(np.asarray(ids).astype(dtype, copy=False).tobytes())
        self.tokens += len(ids)
        self.characters = None if characters is None or self.characters is None \
            else self.characters + characters

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
        "splits": {name: {"tokens": w.tokens, "characters": w.characters}
                   for name, w in writers.items()},
        "split_by": "files" if held_out else {"valid_fraction": fractions[0],
                                              "test_fraction": fractions[1]},
        "sources": {name: [s.identity() for s in group] for name, group in streams.items()},
    }
