"""Training: the Solver, checkpoints, the progress display and the JSONL log."""
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointManager,
    load_weights,
    read_checkpoint,
    write_checkpoint,
)
from .evaluation import evaluate_loss, evaluate_tokens
from .progress import read_log
from .solver import Solver, TrainingError

__all__ = ["Checkpoint", "CheckpointError", "CheckpointManager", "Solver", "TrainingError",
           "evaluate_loss", "evaluate_tokens", "load_weights", "read_checkpoint", "read_log",
           "write_checkpoint"]
