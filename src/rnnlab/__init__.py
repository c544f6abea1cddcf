"""rnnlab: recurrent neural networks on NumPy with hand-derived backward passes."""
from . import functional, layers, models, testing
from .corpora import corpus_path
from .memory import keep_freed_memory

__version__ = "0.1.0"

__all__ = ["corpus_path", "keep_freed_memory", "functional", "layers", "models", "testing", "__version__"]
