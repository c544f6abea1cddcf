"""rnnlab: recurrent neural networks on NumPy with hand-derived backward passes."""
import os as _os

# K processes of one machine started by mpiexec share its cores: unless the user said
# otherwise, each one's BLAS takes its share (read by NumPy's BLAS when it loads)
_local_ranks = _os.environ.get("MPI_LOCALNRANKS") or _os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE")
if _local_ranks and _local_ranks.isdigit() and int(_local_ranks) > 1:
    _share = str(max(1, len(_os.sched_getaffinity(0)) // int(_local_ranks)))
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        _os.environ.setdefault(_name, _share)

from . import functional, layers, models, testing  # noqa: E402
from .corpora import corpus_path  # noqa: E402
from .functional.backend import backend, set_backend  # noqa: E402
from .memory import keep_freed_memory  # noqa: E402

__version__ = "0.1.0"

__all__ = ["backend", "corpus_path", "keep_freed_memory", "set_backend", "functional", "layers", "models", "testing", "__version__"]
