"""GRU layer (``functional.gru``), ``reset_after=True`` as Keras and PyTorch by default;
the bias is (2, 3H) then (input and recurrent rows), (3H,) otherwise."""
from ..functional.gru import GATE_ORDER, gru_backward, gru_forward, gru_stepper
from .single_state import SingleStateRecurrent


class GRU(SingleStateRecurrent):
    gates = 3
    gate_names, candidate_gates = GATE_ORDER, ("n",)
    cell_forward, cell_backward = staticmethod(gru_forward), staticmethod(gru_backward)
    cell_stepper = staticmethod(gru_stepper)

    def __init__(self, units, reset_after=True, **options):
        super().__init__(units, **options)
        self.reset_after = bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def options_in_use(self):
        return {} if self.reset_after else {"reset_after": False}

    def cell_options(self):
        return {"reset_after": self.reset_after}
