"""Models: compositions of layers (Keras' Sequential, and the four architectures)."""
from .base import Model
from .beam_search import beam_search
from .classifier import SequenceClassifier
from .generator import SequenceGenerator
from .language_model import LanguageModel
from .sampling import next_token_probabilities, sample_next
from .seq2seq import Seq2Seq
from .sequential import Sequential

__all__ = [
    "LanguageModel",
    "Model",
    "Seq2Seq",
    "SequenceClassifier",
    "SequenceGenerator",
    "Sequential",
    "beam_search",
    "next_token_probabilities",
    "sample_next",
]
