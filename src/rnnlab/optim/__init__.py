"""Optimizers (``step(params, grads)``), learning-rate schedules, gradient clipping."""
from .clip import clip_global_norm, global_norm
from .optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    make_optimizer,
    optimizer_from_hyperparameters,
)
from .schedules import (
    SCHEDULES,
    Constant,
    Cosine,
    ExponentialDecay,
    ReduceOnPlateau,
    StepDecay,
    Warmup,
    schedule_from_state,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "Constant",
    "Cosine",
    "ExponentialDecay",
    "Optimizer",
    "RMSprop",
    "ReduceOnPlateau",
    "StepDecay",
    "Warmup",
    "clip_global_norm",
    "global_norm",
    "make_optimizer",
    "optimizer_from_hyperparameters",
    "schedule_from_state",
]
