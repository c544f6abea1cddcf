"""rnnlab: recurrent neural networks on NumPy with hand-derived backward passes."""
from . import functional, layers, models, testing
from .corpora import corpus_path

__version__ = "0.1.0"

__all__ = ["corpus_path", "functional", "layers", "models", "testing", "__version__"]
