"""SimpleRNN: h_t = act(x_t Wx + h_{t-1} Wh + b), act tanh or relu (``functional.rnn``)."""
from ..functional.rnn import check_nonlinearity, rnn_backward, rnn_forward, rnn_stepper
from .single_state import SingleStateRecurrent


class SimpleRNN(SingleStateRecurrent):
    cell_forward, cell_backward = staticmethod(rnn_forward), staticmethod(rnn_backward)
    cell_stepper = staticmethod(rnn_stepper)
    supports_recurrent_bias = True

    def __init__(self, units, activation="tanh", **options):
        super().__init__(units, **options)
        check_nonlinearity(activation)
        self.activation = activation

    def cell_options(self):
        return {"nonlinearity": self.activation}
