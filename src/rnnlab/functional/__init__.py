"""Pure functions on arrays: every cell's forward and backward, activations, losses.

No state and no classes beyond named caches: arrays in, arrays and a cache out.
Shapes use one vocabulary: N batch, T time, D input, H hidden, V vocabulary.
"""
from .activations import log_softmax, relu, sigmoid, softmax, tanh
from .affine import (
    affine_backward,
    affine_forward,
    temporal_affine_backward,
    temporal_affine_forward,
)
from .backend import array_module
from .clockwork import (
    clockwork_backward,
    clockwork_forward,
    clockwork_step_backward,
    clockwork_step_forward,
    default_periods,
    module_mask,
)
from .embedding import embedding_backward, embedding_forward
from .gru import (
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    split_gru_gates,
)
from .losses import mean_squared_error, softmax_loss, temporal_softmax_loss, token_softmax_loss
from .lstm import (
    LSTMOptions,
    lstm_backward,
    lstm_bias,
    lstm_forward,
    lstm_inference,
    lstm_step_backward,
    lstm_step_forward,
    split_gates,
)
from .mgu import mgu_backward, mgu_forward, mgu_step_backward, mgu_step_forward, split_mgu_gates
from .recurrence import Gradients
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "Gradients",
    "LSTMOptions",
    "affine_backward",
    "affine_forward",
    "array_module",
    "clockwork_backward",
    "clockwork_forward",
    "clockwork_step_backward",
    "clockwork_step_forward",
    "default_periods",
    "embedding_backward",
    "embedding_forward",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "mgu_backward",
    "mgu_forward",
    "mgu_step_backward",
    "mgu_step_forward",
    "log_softmax",
    "mean_squared_error",
    "lstm_backward",
    "lstm_bias",
    "lstm_forward",
    "lstm_inference",
    "lstm_step_backward",
    "lstm_step_forward",
    "module_mask",
    "relu",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "softmax",
    "softmax_loss",
    "split_gates",
    "split_gru_gates",
    "split_mgu_gates",
    "tanh",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "token_softmax_loss",
]
