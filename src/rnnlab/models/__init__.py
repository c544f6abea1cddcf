"""Models: compositions of layers."""
from .sequential import Sequential

__all__ = ["Sequential"]
