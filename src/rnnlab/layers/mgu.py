"""MGU layer (``functional.mgu``): the minimal gated unit, one forget gate f and the
candidate n. Parameters Wx (D, 2H), Wh (H, 2H), b (2H,); Keras-style initialisation
(Wx Glorot-uniform, Wh orthogonal, b zeros). State: h (N, H)."""
from ..functional.mgu import GATE_ORDER, mgu_backward, mgu_forward, mgu_stepper
from .single_state import SingleStateRecurrent


class MGU(SingleStateRecurrent):
    gates = 2
    gate_names, candidate_gates = GATE_ORDER, ("n",)
    cell_forward, cell_backward = staticmethod(mgu_forward), staticmethod(mgu_backward)
    cell_stepper = staticmethod(mgu_stepper)
