"""GRU layer (``functional.gru``), ``reset_after=True`` as Keras and PyTorch by default;
the bias is (2, 3H) then (input and recurrent rows), (3H,) otherwise. As Keras:
``activation`` (n, default tanh) and ``recurrent_activation`` (r and z, default sigmoid),
any of ``functional.gate_activations``; ``gate_clip`` as ONNX's ``clip``."""
from ..functional.checks import check_bound
from ..functional.gate_activations import gate_activation
from ..functional.gru import GATE_ORDER, gru_backward, gru_forward, gru_stepper
from .single_state import SingleStateRecurrent


class GRU(SingleStateRecurrent):
    gates = 3
    gate_names, candidate_gates = GATE_ORDER, ("n",)
    cell_forward, cell_backward = staticmethod(gru_forward), staticmethod(gru_backward)
    cell_stepper = staticmethod(gru_stepper)

    def __init__(self, units, reset_after=True, activation="tanh", recurrent_activation="sigmoid",
                 gate_clip=None, **options):
        super().__init__(units, **options)
        self.reset_after = bool(reset_after)
        self.activation = gate_activation(activation).spec
        self.recurrent_activation = gate_activation(recurrent_activation).spec
        self.gate_clip = check_bound("gate_clip", gate_clip)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def options_in_use(self):
        in_use = {"reset_after": (self.reset_after, True), "activation": (self.activation, "tanh"),
                  "recurrent_activation": (self.recurrent_activation, "sigmoid"),
                  "gate_clip": (self.gate_clip, None)}
        return {k: value for k, (value, default) in in_use.items() if value != default}

    def cell_options(self):
        return {"reset_after": self.reset_after, "gate_clip": self.gate_clip,
                "activations": (self.recurrent_activation, self.activation)}
