"""GRU layer (``functional.gru``), ``reset_after=True`` as Keras and PyTorch by default.

Keras' initialisation: Wx Glorot-uniform, Wh orthogonal, b zeros ((2, 3H) with
reset_after: input and recurrent bias rows).
"""
from ..functional.gru import gru_backward, gru_forward
from .initializers import glorot_uniform, orthogonal, zeros
from .recurrent import Recurrent


class GRU(Recurrent):
    def __init__(self, units, reset_after=True, **options):
        super().__init__(units, **options)
        self.reset_after = bool(reset_after)

    def _make_params(self, input_shape):
        D, H = input_shape[-1], self.units
        return {
            "Wx": glorot_uniform(self.rng, (D, 3 * H), self.dtype),
            "Wh": orthogonal(self.rng, (H, 3 * H), self.dtype),
            "b": zeros(self.rng, (2, 3 * H) if self.reset_after else (3 * H,), self.dtype),
        }

    def _run(self, x, states, recurrent_mask):
        p = self.params
        y, cache = gru_forward(x, states[0], p["Wx"], p["Wh"], p["b"], self.reset_after,
                               recurrent_mask=recurrent_mask)
        return y, (cache.h,), cache

    def _run_backward(self, dsteps, cache):
        dx, dh0, dWx, dWh, db = gru_backward(dsteps[0], cache)
        return dx, (dh0,), {"Wx": dWx, "Wh": dWh, "b": db}
