"""Training: the Solver, checkpoints, the progress display and the JSONL log."""
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointManager,
    load_weights,
    read_checkpoint,
    write_checkpoint,
)
from .progress import read_log
from .solver import Solver, TrainingError, evaluate_loss

__all__ = ["Checkpoint", "CheckpointError", "CheckpointManager", "Solver", "TrainingError",
           "evaluate_loss", "load_weights", "read_checkpoint", "read_log", "write_checkpoint"]
