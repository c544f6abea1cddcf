"""ClockworkRNN layer (Koutnik et al. 2014, ``functional.clockwork``): H units in equal
modules with periods (default 1, 2, 4, 8); module k updates only at steps t with
t mod period_k = 0 and reads only modules of equal or slower period.

A stateful layer carries the clock with its state: batch k + 1 starts at the step
where batch k stopped.
"""
from ..functional.clockwork import (
    check_periods,
    clockwork_backward,
    clockwork_forward,
    default_periods,
)
from .initializers import glorot_uniform, orthogonal, zeros
from .recurrent import Recurrent


class ClockworkRNN(Recurrent):
    def __init__(self, units, periods=None, **options):
        super().__init__(units, **options)
        self.periods = check_periods(default_periods(4) if periods is None else periods, units)
        self.clock = 0

    def _make_params(self, input_shape):
        D, H = input_shape[-1], self.units
        return {
            "Wx": glorot_uniform(self.rng, (D, H), self.dtype),
            "Wh": orthogonal(self.rng, (H, H), self.dtype),
            "b": zeros(self.rng, (H,), self.dtype),
        }

    def reset_states(self):
        super().reset_states()
        self.clock = 0

    def _run(self, x, states, recurrent_mask):
        p = self.params
        t0 = self.clock if self.stateful else 0
        y, cache = clockwork_forward(x, states[0], p["Wx"], p["Wh"], p["b"], self.periods, t0,
                                     recurrent_mask=recurrent_mask)
        if self.stateful:
            self.clock = t0 + x.shape[1]
        return y, (cache.h,), cache

    def _run_backward(self, dsteps, cache):
        dx, dh0, dWx, dWh, db = clockwork_backward(dsteps[0], cache)
        return dx, (dh0,), {"Wx": dWx, "Wh": dWh, "b": db}
