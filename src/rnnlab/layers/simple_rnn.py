"""SimpleRNN: h_t = act(x_t Wx + h_{t-1} Wh + b), act tanh or relu (``functional.rnn``).

Keras' initialisation: Wx Glorot-uniform, Wh orthogonal, b zeros.
"""
from ..functional.rnn import check_nonlinearity, rnn_backward, rnn_forward
from .initializers import glorot_uniform, orthogonal, zeros
from .recurrent import Recurrent


class SimpleRNN(Recurrent):
    def __init__(self, units, activation="tanh", **options):
        super().__init__(units, **options)
        check_nonlinearity(activation)
        self.activation = activation

    def _make_params(self, input_shape):
        D, H = input_shape[-1], self.units
        return {
            "Wx": glorot_uniform(self.rng, (D, H), self.dtype),
            "Wh": orthogonal(self.rng, (H, H), self.dtype),
            "b": zeros(self.rng, (H,), self.dtype),
        }

    def _run(self, x, states, recurrent_mask):
        p = self.params
        y, cache = rnn_forward(x, states[0], p["Wx"], p["Wh"], p["b"], self.activation,
                               recurrent_mask=recurrent_mask)
        return y, (cache.h,), cache

    def _run_backward(self, dsteps, cache):
        dx, dh0, dWx, dWh, db = rnn_backward(dsteps[0], cache)
        return dx, (dh0,), {"Wx": dWx, "Wh": dWh, "b": db}
