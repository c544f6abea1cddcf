"""SimpleRNN: h_t = act(x_t Wx + h_{t-1} Wh + b) (``functional.rnn``): act tanh (default),
relu or any of ``functional.gate_activations``; ``gate_clip`` clips the pre-activation
(ONNX ``clip``)."""
from ..functional.rnn import check_nonlinearity, rnn_backward, rnn_forward, rnn_stepper
from .single_state import SingleStateRecurrent


class SimpleRNN(SingleStateRecurrent):
    cell_forward, cell_backward = staticmethod(rnn_forward), staticmethod(rnn_backward)
    cell_stepper = staticmethod(rnn_stepper)
    supports_recurrent_bias = True

    def __init__(self, units, activation="tanh", gate_clip=None, **options):
        super().__init__(units, **options)
        self.activation = check_nonlinearity(activation, gate_clip).spec
        self.gate_clip = gate_clip

    def options_in_use(self):
        in_use = {"activation": self.activation, "gate_clip": self.gate_clip}
        return {k: v for k, v in in_use.items() if v not in ("tanh", None)}

    def cell_options(self):
        return {"nonlinearity": self.activation, "gate_clip": self.gate_clip}
