"""Data-parallel training over MPI (mpi4py, the optional extra ``rnnlab[mpi]``).

K ranks train one model on one global batch of N rows: rank r owns rows
[r N/K, (r + 1) N/K) of every connected batch (its rows of the corpus and their
carried states; truncated BPTT per row is unchanged) and computes the gradient of its
rows' mean loss. One in-place Allreduce per update sums one flat buffer (of the
gradients' dtype: 3.5 MB for the default model in float32),

    [gradients | loss | flags]  ->  sum over ranks, / K

(equal rows per rank: the mean of the ranks' means is the global batch's mean), so
every rank clips and steps identically and the weights stay the same everywhere. The
flags carry what must be decided once for all: a stop requested on any rank (SIGINT,
SIGTERM), and rank 0's clock (``max_time``, ``checkpoint_minutes``). Dropout masks
are drawn for the global batch from the same seeded generator on every rank, each
keeping its rows (``shard_rows``), so K ranks compute what one process computes
(float rounding aside). Rank 0 alone writes the log, the checkpoints and prints; a
checkpoint holds the carried states of all N rows (gathered), so a run resumes on any
number of ranks that divides N.
"""
import os

import numpy as np

LAUNCH_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


class ParallelError(ValueError):
    """A data-parallel run that cannot go as set up (said in one line)."""


def launched_communicator():
    """MPI.COMM_WORLD when this process was started by ``mpiexec -n K`` (or ``srun``)
    with K > 1, else None (mpi4py is not imported then)."""
    sizes = [os.environ.get(name) for name in LAUNCH_VARIABLES]
    if not any(size and size.isdigit() and int(size) > 1 for size in sizes):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        raise ParallelError("started by an MPI launcher but mpi4py is not installed: "
                            "pip install 'rnnlab[mpi]'") from None
    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None


class Ranks:
    """The ranks of a run: ``communicator`` (an mpi4py communicator) or one process."""

    def __init__(self, communicator=None):
        self.communicator = communicator
        self.rank = 0 if communicator is None else communicator.Get_rank()
        self.size = 1 if communicator is None else communicator.Get_size()
        self.root = self.rank == 0

    def rows(self, batch_size):
        """This rank's rows of a batch of ``batch_size`` -> (start, stop)."""
        if batch_size % self.size:
            raise ParallelError(f"batch_size: {self.size} ranks must divide the global batch "
                                f"of {batch_size} rows; use a multiple of {self.size}")
        share = batch_size // self.size
        return self.rank * share, (self.rank + 1) * share

    def average(self, grads, values):
        """In place: each gradient := the ranks' mean; -> the ranks' means of
        ``values`` (floats)."""
        arrays = list(grads.values())
        dtype = arrays[0].dtype if arrays else np.float64
        buffer = np.concatenate([a.ravel() for a in arrays] + [np.asarray(values, dtype)], dtype=dtype)
        if self.size > 1:
            from mpi4py import MPI

            self.communicator.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            buffer /= self.size
        at = 0
        for a in arrays:
            a[...] = buffer[at : at + a.size].reshape(a.shape)
            at += a.size
        return buffer[at:].tolist()

    def gather_rows(self, arrays):
        """Rank 0: each array's rows of every rank, in rank order (None elsewhere)."""
        if self.size == 1:
            return arrays
        gathered = self.communicator.gather(arrays, root=0)
        if not self.root:
            return None
        return [np.concatenate(parts) for parts in zip(*gathered)]

    def broadcast(self, value):
        return value if self.size == 1 else self.communicator.bcast(value, root=0)

    def abort(self, code=1):
        if self.size > 1:
            self.communicator.Abort(code)


def shard_rows(model, shard):
    """Every layer of ``model`` draws its dropout masks for the global batch and keeps
    ``shard`` = (start, stop, total rows) of it (None: the batch is the whole)."""
    for layer in model.layers:
        for inner in layer.walk():
            inner.row_shard = shard
