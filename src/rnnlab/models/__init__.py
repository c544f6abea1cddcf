"""Models: compositions of layers (Keras' Sequential, and the four architectures)."""
from .base import Model
from .beam_search import beam_search
from .classifier import SequenceClassifier
from .generator import SequenceGenerator
from .language_model import LanguageModel
from .sampling import next_token_probabilities, sample_next
from .seq2seq import Seq2Seq
from .sequential import Sequential

MODELS = {cls.__name__: cls for cls in (LanguageModel, SequenceClassifier, SequenceGenerator,
                                        Seq2Seq)}


def model_from_config(kind, config):
    """A fresh model of class ``kind`` (a name of MODELS) built from its ``config``."""
    if kind not in MODELS:
        raise ValueError(f"model: expected one of {sorted(MODELS)}, got {kind!r}")
    return MODELS[kind](**config)


__all__ = [
    "MODELS",
    "LanguageModel",
    "Model",
    "Seq2Seq",
    "SequenceClassifier",
    "SequenceGenerator",
    "Sequential",
    "beam_search",
    "model_from_config",
    "next_token_probabilities",
    "sample_next",
]
