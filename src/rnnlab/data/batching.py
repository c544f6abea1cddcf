"""Batches for training.

``LanguageModelBatches(ids, N, M)``: the batches of the source material, full and
connected. The first N*M*K tokens (K = as many batches as fit; the surplus is
dropped) form N rows of M*K consecutive tokens; batch k is columns kM .. (k+1)M of
every row, so row n of batch k+1 continues row n of batch k. "abcdefgh" with N = M = 2
gives x = [[a,b],[e,f]] then [[c,d],[g,h]]. Targets are the next tokens, the last
one wrapping round to the first (as char-rnn). Each batch is cut from ``ids`` when it
is asked for, so ``ids`` may be an ``np.memmap`` of a prepared corpus of any size
(``token_file.TokenFile``): nothing but the batch is read.

``PaddedBatches(columns, N)``: variable-length examples (classification, seq2seq),
padded with 0 and bucketed by length so little is padding; the batch order is
shuffled per epoch from (seed, epoch), so any epoch can be replayed exactly.

Both give ``batches(epoch, start=0)``: the tuples (arguments of ``model.loss``) of an
epoch from batch ``start`` on; ``len()`` is the number of batches per epoch and
``connected`` says whether a model should carry its state from batch to batch.
"""
import mmap

import numpy as np

RELEASE_EVERY = 256  # batches between two releases of a memory-mapped corpus's pages


def release_pages(ids):
    """Drop the pages of a memory-mapped array from this process (they stay in the page
    cache, and are read again if touched), so that its resident memory does not grow
    as a corpus larger than memory is read; nothing for an array in memory."""
    base = ids
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        base.madvise(mmap.MADV_DONTNEED)


def token_ids(ids):
    """A 1-D integer array as it is (a memmap stays a memmap, not read), else as int64."""
    if isinstance(ids, np.ndarray) and ids.ndim == 1 and ids.dtype.kind in "ui":
        return ids
    return np.asarray(ids, dtype=np.int64)


class LanguageModelBatches:
    connected = True

    def __init__(self, ids, batch_size, seq_length, rows=None):
        """``rows`` = (start, stop): only those rows of every batch (one process's share
        in data-parallel training; default all N)."""
        self.ids = ids = token_ids(ids)
        self.N, self.M = int(batch_size), int(seq_length)
        if self.N < 1 or self.M < 1:
            raise ValueError(f"batch_size, seq_length: expected positive integers, got "
                             f"{batch_size}, {seq_length}")
        self.K = len(ids) // (self.N * self.M)
        if self.K == 0:
            raise ValueError(f"data: {len(ids)} tokens cannot fill one batch of "
                             f"batch_size x seq_length = {self.N} x {self.M}; use smaller ones")
        start, stop = rows or (0, self.N)
        if not 0 <= start < stop <= self.N:
            raise ValueError(f"rows: expected 0 <= start < stop <= {self.N}, got {rows}")
        self.sharded = (start, stop) != (0, self.N)
        # row n holds tokens n M K .. (n + 1) M K
        self.row_starts = np.arange(start, stop) * (self.M * self.K)

    def __len__(self):
        return self.K

    @property
    def tokens_per_batch(self):
        return len(self.row_starts) * self.M

    def rows(self, start, stop):
        """The same batches, rows ``start`` .. ``stop`` of each."""
        return LanguageModelBatches(self.ids, self.N, self.M, rows=(start, stop))

    def batches(self, epoch=0, start=0):
        for k in range(start, self.K):
            at = self.row_starts[:, None] + (k * self.M + np.arange(self.M))  # (N, M)
            # the next token of the last one used is ids[N M K], or ids[0] when there is none
            yield (np.asarray(self.ids[at], dtype=np.int64),
                   np.asarray(self.ids[(at + 1) % len(self.ids)], dtype=np.int64))
            if k % RELEASE_EVERY == RELEASE_EVERY - 1:
                release_pages(self.ids)


class PaddedBatches:
    connected = False

    def __init__(self, columns, batch_size, seed=0, bucket=True):
        """columns: a tuple of per-example data, each either a list of integer sequences
        (padded to the batch's longest with 0) or an array with one row per example."""
        self.columns = [c if _is_ragged(c) else np.asarray(c) for c in columns]
        sizes = {len(c) for c in self.columns}
        if len(sizes) != 1:
            raise ValueError(f"columns: expected the same number of examples in each, got {sorted(sizes)}")
        (n,) = sizes
        if n == 0:
            raise ValueError("columns: expected at least one example")
        self.batch_size, self.seed = int(batch_size), seed
        lengths = np.array([len(s) for s in self.columns[0]]) if _is_ragged(self.columns[0]) \
            else np.zeros(n)
        order = np.argsort(lengths, kind="stable") if bucket else np.arange(n)
        self.groups = [order[k : k + self.batch_size] for k in range(0, n, self.batch_size)]
        self.tokens_per_batch = int(lengths.sum() / len(self.groups)) or self.batch_size

    def __len__(self):
        return len(self.groups)

    def batches(self, epoch=0, start=0):
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.groups))
        for k in order[start:]:
            yield tuple(_take(c, self.groups[k]) for c in self.columns)


def _is_ragged(column):
    return isinstance(column, (list, tuple)) and len(column) > 0 and hasattr(column[0], "__len__")


def _take(column, rows):
    if not _is_ragged(column):
        return column[rows]
    seqs = [column[r] for r in rows]
    out = np.zeros((len(seqs), max(len(s) for s in seqs)), dtype=np.int64)
    for n, s in enumerate(seqs):
        out[n, : len(s)] = s
    return out
