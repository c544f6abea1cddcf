"""Stacks of recurrent layers by name, as the models build them."""
from ..layers import (
    GRU,
    LSTM,
    MGU,
    Bidirectional,
    ClockworkRNN,
    DepthGatedLSTM,
    Dropout,
    LayerNormLSTM,
    SimpleRNN,
)

CELLS = {
    "rnn": SimpleRNN,
    "lstm": LSTM,
    "gru": GRU,
    "mgu": MGU,
    "layer_norm_lstm": LayerNormLSTM,
    "clockwork": ClockworkRNN,
    "depth_gated_lstm": DepthGatedLSTM,
}


def recurrent_stack(cell, hidden_size, num_layers, dropout=0.0, bidirectional=False,
                    return_sequences=True, **cell_options):
    """``num_layers`` recurrent layers of ``cell`` (a name of CELLS), each followed by
    Dropout(dropout) when dropout > 0; the last returns sequences only when asked.
    A depth-gated LSTM is one layer holding the whole stack."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    if cell == "depth_gated_lstm":
        if bidirectional:
            raise ValueError("bidirectional: a depth-gated LSTM stack reads forward only")
        specs = [dict(num_layers=num_layers, return_sequences=return_sequences)]
    else:
        specs = [dict(return_sequences=return_sequences or k < num_layers - 1)
                 for k in range(num_layers)]
    layers = []
    for spec in specs:
        layer = CELLS[cell](hidden_size, **spec, **cell_options)
        layers.append(Bidirectional(layer) if bidirectional else layer)
        if dropout:
            layers.append(Dropout(dropout))
    return layers
