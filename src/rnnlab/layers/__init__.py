"""Layers: objects holding ``params`` and ``grads`` (dicts with the same keys), batch-first.

``forward`` caches what ``backward`` needs; ``backward`` adds into ``grads`` and returns
the gradient on the input. Built lazily on the first input, as Keras layers.
"""
from .base import Layer
from .bidirectional import Bidirectional
from .clockwork import ClockworkRNN
from .dense import Dense
from .depth_gated import DepthGatedLSTM
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .lstm import LSTM, LayerNormLSTM
from .mgu import MGU
from .recurrent import Recurrent
from .repeat_vector import RepeatVector
from .simple_rnn import SimpleRNN
from .tied_dense import TiedDense
from .time_distributed import TimeDistributed

__all__ = [
    "GRU",
    "MGU",
    "LSTM",
    "Bidirectional",
    "ClockworkRNN",
    "Dense",
    "DepthGatedLSTM",
    "Dropout",
    "Embedding",
    "Layer",
    "LayerNormLSTM",
    "Recurrent",
    "RepeatVector",
    "SimpleRNN",
    "TiedDense",
    "TimeDistributed",
]
