"""The recurrent layers whose only state is h, with weights Wx (D, G), Wh (H, G) and a
bias: SimpleRNN, GRU, ClockworkRNN. Keras' initialisation: Wx Glorot-uniform, Wh
orthogonal, b zeros."""
from .initializers import glorot_uniform, orthogonal, zeros
from .recurrent import Recurrent


class SingleStateRecurrent(Recurrent):
    """A subclass names its sequence functions and its gate count (G = gates * H)."""

    gates = 1
    cell_forward = cell_backward = None  # functional *_forward / *_backward, as staticmethods
    cell_stepper = None  # functional *_stepper, as a staticmethod, if the cell has one

    def bias_shape(self):
        return (self.gates * self.units,)

    def cell_options(self):
        """Keyword options of the cell's forward beyond the weights."""
        return {}

    def _make_params(self, input_shape):
        D, H, G = input_shape[-1], self.units, self.gates * self.units
        return {
            "Wx": glorot_uniform(self.rng, (D, G), self.dtype),
            "Wh": orthogonal(self.rng, (H, G), self.dtype),
            "b": zeros(self.rng, self.bias_shape(), self.dtype),
        }

    def _cell_stepper(self, N):
        if self.cell_stepper is None:
            return None
        p = self.params
        return self.cell_stepper(p["Wx"], p["Wh"], self.total_bias(), N, **self.cell_options())

    def _run(self, x, states, recurrent_mask):
        p = self.params
        y, cache = self.cell_forward(x, states[0], p["Wx"], p["Wh"], self.total_bias(),
                                     recurrent_mask=recurrent_mask, **self.cell_options())
        return y, (cache.h,), cache

    def _run_backward(self, dsteps, cache):
        dx, dh0, dWx, dWh, db = self.cell_backward(dsteps[0], cache)
        return dx, (dh0,), {"Wx": dWx, "Wh": dWh, "b": db}
