"""DepthGatedLSTM: a stack of equal-sized LSTMs whose cells are linked across layers
by depth gates (Yao et al. 2015, ``functional.lstm`` option ``depth_gate``).

Layer 0 is a plain LSTM on the input; layer k >= 1 reads h^{k-1} and adds d * c^{k-1}_t
to its cell, d_t = sigmoid(b_d + x_t Wxd + w_c * c_{t-1} + w_l * c^{k-1}_t). The
output is the top layer's h. States, in order: h_0, c_0, h_1, c_1, ... (N, H) each.

Backward, layer by layer from the top: layer k's dx is the gradient on h^{k-1} at
every step, and its dlower_c the extra gradient on c^{k-1} at every step.
"""
import numpy as np

from ..functional.lstm import DEPTH_GATE_KEYS, GATE_ORDER, lstm_backward, lstm_bias, lstm_forward
from .base import check_positive_int
from .initializers import glorot_uniform, orthogonal, zeros
from .lstm import lstm_parameter_gradients
from .recurrent import Recurrent

class DepthGatedLSTM(Recurrent):
    gate_names, candidate_gates = GATE_ORDER, ("g",)

    def __init__(self, units, num_layers=2, **options):
        super().__init__(units, **options)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.state_names = tuple(f"{s}_{k}" for k in range(self.num_layers) for s in "hc")
        self.output_state = 2 * (self.num_layers - 1)

    @property
    def state_sizes(self):
        return (self.units,) * 2 * self.num_layers

    def _make_params(self, input_shape):
        H, params = self.units, {}
        for k in range(self.num_layers):
            D = input_shape[-1] if k == 0 else H
            params[f"Wx_{k}"] = glorot_uniform(self.rng, (D, 4 * H), self.dtype)
            params[f"Wh_{k}"] = orthogonal(self.rng, (H, 4 * H), self.dtype)
            params[f"b_{k}"] = lstm_bias(H, 1.0, dtype=self.dtype)
            if k:
                params[f"Wxd_{k}"] = glorot_uniform(self.rng, (H, H), self.dtype)
                for name in DEPTH_GATE_KEYS[1:]:
                    params[f"{name}_{k}"] = zeros(self.rng, (H,), self.dtype)
        return params

    def traced_caches(self):
        """One trace per level of the stack: ``<name>/<k>``."""
        return [(f"{self.name}/{k}", cache) for k, cache in enumerate(self.last_cache)]

    def _recurrent_mask(self, N):
        """One mask per layer, (num_layers, N, H)."""
        shape = (self.num_layers, N, self.units)
        return self.dropout_mask(shape, self.recurrent_dropout, row_axis=1)

    def _depth_gate(self, k):
        if k == 0:
            return None
        return {name: self.params[f"{name}_{k}"] for name in DEPTH_GATE_KEYS}

    def _run(self, x, states, recurrent_mask):
        p, caches, histories = self.params, [], []
        lower_c = None
        for k in range(self.num_layers):
            x, cache = lstm_forward(
                x, states[2 * k], p[f"Wx_{k}"], p[f"Wh_{k}"], p[f"b_{k}"], states[2 * k + 1],
                depth_gate=self._depth_gate(k), lower_c=lower_c,
                recurrent_mask=None if recurrent_mask is None else recurrent_mask[k])
            lower_c = cache.cell_states  # (N, T, H)
            caches.append(cache)
            histories += [cache.h, cache.c]
        return x, tuple(histories), caches

    def _run_backward(self, dsteps, caches):
        grads, dstates0 = {}, [None] * len(dsteps)
        dh_above = dc_above = None  # gradients from layer k + 1 on h^k, c^k at every step
        for k in reversed(range(self.num_layers)):
            dh = _total(dsteps[2 * k], dh_above)
            dc = _total(dsteps[2 * k + 1], dc_above)
            if dh is None:
                dh = np.zeros(caches[k].cell_states.shape, self.dtype)
            g = lstm_backward(dh, caches[k], dc=dc)
            dh_above, dc_above = g[0], getattr(g, "dlower_c", None)
            dstates0[2 * k], dstates0[2 * k + 1] = g[1], g.dc0
            for name, value in lstm_parameter_gradients(g).items():
                grads[f"{name}_{k}"] = value
            for name, value in getattr(g, "ddepth_gate", {}).items():
                grads[f"{name}_{k}"] = value
        return dh_above, tuple(dstates0), grads


def _total(a, b):
    if a is None:
        return b
    return a if b is None else a + b
