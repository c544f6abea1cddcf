"""LSTM layer with every option of ``functional.lstm``; LayerNormLSTM.

    LSTM(units, peepholes=(), cifg=False, proj_size=None, cell_clip=None, gate_clip=None,
         layer_norm=False, unit_forget_bias=True, activation="tanh",
         recurrent_activation="sigmoid", output_activation=None, **recurrent options)

As Keras: ``recurrent_activation`` the gates' (i, f, o), ``activation`` the candidate's (g)
and, unless ``output_activation`` is given, the output's (h_t = o * act(c_t)); any of
``functional.gate_activations`` (ONNX's f, g, h).

Parameters: Wx (D, G), Wh (P, G), b (G,) (and b_h (G,) with ``recurrent_bias``);
peepholes p_i, p_f, p_o (H,); Wp (H, P); layer norm gamma_x, gamma_h (G,), gamma_c,
beta_c (H,). G = 4H (3H with cifg), P = proj_size or H. Keras' initialisation: Wx
Glorot-uniform, Wh orthogonal, b zeros with the forget block at 1
(``unit_forget_bias``), b_h zeros; peepholes start at 0 (the plain LSTM), gammas at 1,
Wp Glorot-uniform. States: h (N, P), c (N, H).
"""
import numpy as np

from ..functional.lstm import (
    CIFG_GATE_ORDER,
    GATE_ORDER,
    check_lstm_options,
    lstm_backward,
    lstm_bias,
    lstm_forward,
    lstm_inference,
    lstm_stepper,
)
from ..functional.gate_activations import gate_activation
from .base import check_positive_int
from .initializers import glorot_uniform, orthogonal, zeros
from .recurrent import Recurrent

LAYER_NORM_KEYS = ("gamma_x", "gamma_h", "gamma_c", "beta_c")


class LSTM(Recurrent):
    state_names = ("h", "c")
    supports_recurrent_bias = True
    candidate_gates = ("g",)

    def __init__(self, units, peepholes=(), cifg=False, proj_size=None, cell_clip=None,
                 gate_clip=None, layer_norm=False, unit_forget_bias=True, activation="tanh",
                 recurrent_activation="sigmoid", output_activation=None, **options):
        super().__init__(units, **options)
        self.activation = gate_activation(activation).spec
        self.recurrent_activation = gate_activation(recurrent_activation).spec
        self.output_activation = None if output_activation is None else \
            gate_activation(output_activation).spec
        self.peepholes = check_lstm_options(tuple(peepholes), cifg, cell_clip, gate_clip)
        self.cifg = bool(cifg)
        self.proj_size = None if proj_size is None else check_positive_int("proj_size", proj_size)
        self.cell_clip, self.gate_clip = cell_clip, gate_clip
        self.layer_norm = bool(layer_norm)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_sizes(self):
        return (self.proj_size or self.units, self.units)

    @property
    def peephole_keys(self):
        """The names of the peephole weights, p_i, p_f, p_o for the gates in use."""
        return tuple("p_" + g for g in self.peepholes)

    @property
    def gate_names(self):
        return CIFG_GATE_ORDER if self.cifg else GATE_ORDER

    def _make_params(self, input_shape):
        D, H, P = input_shape[-1], self.units, self.state_sizes[0]
        G = (3 if self.cifg else 4) * H
        params = {
            "Wx": glorot_uniform(self.rng, (D, G), self.dtype),
            "Wh": orthogonal(self.rng, (P, G), self.dtype),
            "b": lstm_bias(H, 1.0 if self.unit_forget_bias else 0.0, self.cifg, self.dtype),
        }
        for key in self.peephole_keys:
            params[key] = zeros(self.rng, (H,), self.dtype)
        if self.proj_size:
            params["Wp"] = glorot_uniform(self.rng, (H, P), self.dtype)
        if self.layer_norm:
            params.update(gamma_x=np.ones(G, self.dtype), gamma_h=np.ones(G, self.dtype),
                          gamma_c=np.ones(H, self.dtype), beta_c=np.zeros(H, self.dtype))
        return params

    def options_in_use(self):
        in_use = {"peepholes": self.peepholes, "cifg": self.cifg, "proj_size": self.proj_size,
                  "cell_clip": self.cell_clip, "gate_clip": self.gate_clip,
                  "layer_norm": self.layer_norm, "activation": self.activation,
                  "recurrent_activation": self.recurrent_activation,
                  "output_activation": self.output_activation}
        defaults = {"activation": "tanh", "recurrent_activation": "sigmoid"}
        return {name: value for name, value in in_use.items()
                if value not in ((), False, None) and value != defaults.get(name)}

    @property
    def activations(self):
        """ONNX's (f, g, h): the gates', the candidate's, the output's."""
        return (self.recurrent_activation, self.activation,
                self.activation if self.output_activation is None else self.output_activation)

    def cell_options(self):
        """The keyword options of ``lstm_forward`` for this layer's weights."""
        p = self.params
        return dict(
            peepholes={k: p[k] for k in self.peephole_keys} or None,
            cifg=self.cifg,
            Wp=p.get("Wp"),
            cell_clip=self.cell_clip,
            gate_clip=self.gate_clip,
            layer_norm={k: p[k] for k in LAYER_NORM_KEYS} if self.layer_norm else None,
            activations=self.activations,
        )

    def _cell_stepper(self, N):
        p = self.params
        return lstm_stepper(p["Wx"], p["Wh"], self.total_bias(), N, **self.cell_options())

    def _run(self, x, states, recurrent_mask):
        p = self.params
        y, cache = lstm_forward(x, states[0], p["Wx"], p["Wh"], self.total_bias(), states[1],
                                recurrent_mask=recurrent_mask, **self.cell_options())
        return y, (cache.h, cache.c), cache

    def _infer(self, x, states):
        p = self.params
        return lstm_inference(x, states[0], p["Wx"], p["Wh"], self.total_bias(), states[1],
                              **self.cell_options())

    def _run_backward(self, dsteps, cache):
        grads = lstm_backward(dsteps[0], cache, dc=dsteps[1])
        return grads[0], (grads[1], grads.dc0), lstm_parameter_gradients(grads)


def lstm_parameter_gradients(grads):
    """name -> gradient of every LSTM parameter in a ``lstm_backward`` result."""
    _, _, dWx, dWh, db = grads
    out = {"Wx": dWx, "Wh": dWh, "b": db}
    out.update(getattr(grads, "dpeepholes", {}))
    if hasattr(grads, "dWp"):
        out["Wp"] = grads.dWp
    out.update(getattr(grads, "dlayer_norm", {}))
    return out


class LayerNormLSTM(LSTM):
    """The LSTM with layer normalisation (Ba, Kiros & Hinton 2016) of x Wx, h Wh and c."""

    def __init__(self, units, **options):
        super().__init__(units, layer_norm=True, **options)
