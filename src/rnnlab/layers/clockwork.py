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
from .single_state import SingleStateRecurrent


class ClockworkRNN(SingleStateRecurrent):
    cell_forward, cell_backward = staticmethod(clockwork_forward), staticmethod(clockwork_backward)

    def __init__(self, units, periods=None, **options):
        super().__init__(units, **options)
        self.periods = check_periods(default_periods(4) if periods is None else periods, units)
        self.clock = 0

    def reset_states(self):
        super().reset_states()
        self.clock = 0

    def cell_options(self):
        return {"periods": self.periods, "t0": self.clock if self.stateful else 0}

    def stepper(self, N, start=0):
        """One step at a time with the clock running on from ``start``."""
        p, clock = self.params, [start]

        def step(x, states):
            _, cache = clockwork_forward(x[:, None], states[0], p["Wx"], p["Wh"], p["b"],
                                         self.periods, clock[0])
            clock[0] += 1
            return cache.final_h, (cache.final_h,)

        return step

    def _run(self, x, states, recurrent_mask):
        run = super()._run(x, states, recurrent_mask)
        if self.stateful:
            self.clock += x.shape[1]
        return run
