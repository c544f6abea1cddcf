"""Optimizers: ``step(params, grads)`` updates the arrays of ``params`` in place."""
from .adam import Adam
from .clip import clip_global_norm

__all__ = ["Adam", "clip_global_norm"]
