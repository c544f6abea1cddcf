"""Looking at runs and models: learning curves."""
from .history import plot_history

__all__ = ["plot_history"]
