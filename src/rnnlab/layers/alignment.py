"""Variable-length sequences: where each sequence's valid steps lie, and the moves
between the caller's layout and the cell's.

A mask (N, T) marks the valid steps of each row; they must form one contiguous run
(right padding, as ``pack_padded_sequence``, or left padding, as Keras'
``pad_sequences`` default). The cell always runs on *aligned* sequences: row n's
valid steps first, in reading order (reversed for ``go_backwards``), zeros after.
Since padding then comes last, padded steps cannot change the state the row ends
with: the final state is the cell's state after ``lengths[n]`` steps, and no
gradient reaches the padded steps (their outputs are dropped).

    reading step s of row n reads input position pos[n, s] = start_n + s
                                            (go_backwards: start_n + len_n - 1 - s)
    its output goes to position pos[n, s]   (go_backwards: T - 1 - pos[n, s], so the
                                            outputs read in processing order, as Keras)
"""
import numpy as np


class Alignment:
    """The gathers and scatters between the caller's (N, T, ...) and the aligned one."""

    def __init__(self, N, T, lengths=None, starts=None, reverse=False):
        self.N, self.T, self.reverse = N, T, reverse
        self.lengths = np.full(N, T) if lengths is None else np.asarray(lengths)
        starts = np.zeros(N, dtype=int) if starts is None else np.asarray(starts)
        self.trivial = lengths is None and not reverse
        if self.trivial:
            return
        s = np.arange(T)
        self.valid = s < self.lengths[:, None]  # (N, T) in aligned order
        offset = self.lengths[:, None] - 1 - s if reverse else s
        self.pos = np.where(self.valid, starts[:, None] + offset, 0)  # input position
        self.out_pos = np.where(self.valid, T - 1 - self.pos, 0) if reverse else self.pos
        self.rows = np.broadcast_to(np.arange(N)[:, None], (N, T))

    def _gather(self, a, positions):
        """a (N, T, ...) -> (N, T, ...) with aligned step s of row n = a[n, positions[n, s]],
        zero at padded steps."""
        out = a[self.rows, positions]
        out[~self.valid] = 0
        return out

    def _scatter(self, a, positions):
        """The inverse of ``_gather``: aligned (N, T, ...) -> caller's layout, zero elsewhere."""
        out = np.zeros_like(a)
        out[self.rows[self.valid], positions[self.valid]] = a[self.valid]
        return out

    def inputs(self, x):
        """x (N, T, D) -> aligned inputs."""
        return x if self.trivial else self._gather(x, self.pos)

    def input_grad(self, dx_aligned):
        return dx_aligned if self.trivial else self._scatter(dx_aligned, self.pos)

    def outputs(self, y_aligned):
        """Aligned outputs -> the caller's layout (zero at padded steps)."""
        return y_aligned if self.trivial else self._scatter(y_aligned, self.out_pos)

    def output_grad(self, dy):
        return dy if self.trivial else self._gather(dy, self.out_pos)

    def last_step_grad(self, dfinal, dsteps):
        """Add a final-state gradient dfinal (N, S) to aligned step lengths[n] - 1 of
        dsteps (N, T, S); returns the rows of dfinal whose length is 0 (their final state
        is the initial one), zero elsewhere."""
        has_steps = self.lengths > 0
        rows = np.flatnonzero(has_steps)
        dsteps[rows, self.lengths[rows] - 1] += dfinal[rows]
        return dfinal * ~has_steps[:, None]


def check_lengths(lengths, N, T):
    """(N,) integers in [0, T], as an array."""
    lengths = np.asarray(lengths)
    if lengths.shape != (N,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths: expected {N} integers (one per sequence), "
                         f"got {lengths.dtype} array of shape {lengths.shape}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"lengths: expected values in [0, T] = [0, {T}], "
                         f"got {lengths.min()}..{lengths.max()}")
    return lengths


def alignment_from_mask(mask, lengths, N, T, reverse):
    """An Alignment from a (N, T) mask or (N,) lengths (at most one), checked."""
    if mask is not None and lengths is not None:
        raise ValueError("mask, lengths: expected at most one of them, got both")
    if lengths is not None:
        return Alignment(N, T, check_lengths(lengths, N, T), None, reverse)
    if mask is None:
        return Alignment(N, T, None, None, reverse)
    mask = np.asarray(mask)
    if mask.shape != (N, T):
        raise ValueError(f"mask: expected shape (N, T) = ({N}, {T}), got {mask.shape}")
    mask = mask.astype(bool)
    lengths = mask.sum(axis=1)
    starts = np.where(lengths > 0, mask.argmax(axis=1), 0)
    ends = T - np.where(lengths > 0, mask[:, ::-1].argmax(axis=1), T)
    gaps = np.flatnonzero(ends - starts != lengths)
    if gaps.size:
        raise ValueError(f"mask: expected each row's valid steps to be one contiguous run "
                         f"(left or right padding), row {gaps[0]} has a gap")
    return Alignment(N, T, lengths, starts, reverse)


def lengths_to_mask(lengths, T):
    """(N,) lengths -> (N, T) bool mask, right padding."""
    return np.arange(T) < np.asarray(lengths)[:, None]
