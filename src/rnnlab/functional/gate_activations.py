"""The activations a recurrent cell may use for its gates, candidate and output: every one
the ONNX LSTM / GRU / RNN operators allow, under ONNX's names, and Keras's names for them.

    y = act(a)                         dy/da (``derivative(a, y)``)
    sigmoid          1 / (1 + e^-a)                    y (1 - y)
    tanh             tanh(a)                           1 - y^2
    relu             max(a, 0)                         [y > 0]
    affine           alpha a + beta                    alpha
    leakyrelu        a if a >= 0 else alpha a          1 if a >= 0 else alpha
    thresholdedrelu  a if a > alpha else 0             [a > alpha]
    scaledtanh       alpha tanh(beta a)                alpha beta (1 - tanh(beta a)^2)
    hardsigmoid      min(max(alpha a + beta, 0), 1)    alpha inside (0, 1), else 0
    elu              a if a >= 0 else alpha (e^a - 1)  1 if a >= 0 else y + alpha
    softsign         a / (1 + |a|)                     1 / (1 + |a|)^2
    softplus         log(1 + e^a)                      sigmoid(a)

alpha and beta default as ONNX Runtime reads a missing value (leakyrelu 0.01,
hardsigmoid 0.2 and 0.5, elu 1.0, the rest 0). Keras's names: ``linear`` (affine 1, 0),
``hard_sigmoid`` (Keras 3: relu6(a + 3) / 6, hardsigmoid 1/6, 0.5) and
``keras2_hard_sigmoid`` (Keras 2's: hardsigmoid 0.2, 0.5; Keras 2 saved most LSTMs and
GRUs with it as their recurrent_activation), ``elu`` (alpha 1). At a kink the derivative
is the right-hand side's where the table says so (ONNX Runtime's branches).

A spec is a name, ``(name, alpha, beta)``, or an ``Activation``; ``Activation.spec`` is
its JSON form (a name when alpha and beta are the defaults).
"""
from dataclasses import dataclass

import numpy as np

from .activations import sigmoid
from .backend import array_module

USES = {"affine": (True, True), "leakyrelu": (True, False), "thresholdedrelu": (True, False),
        "scaledtanh": (True, True), "hardsigmoid": (True, True), "elu": (True, False)}
DEFAULTS = {"leakyrelu": (0.01, 0.0), "hardsigmoid": (0.2, 0.5), "elu": (1.0, 0.0)}
NAMES = ("sigmoid", "tanh", "relu", "affine", "leakyrelu", "thresholdedrelu", "scaledtanh",
         "hardsigmoid", "elu", "softsign", "softplus")
KERAS = {"linear": ("affine", 1.0, 0.0), "hard_sigmoid": ("hardsigmoid", 1 / 6, 0.5),
         "keras2_hard_sigmoid": ("hardsigmoid", 0.2, 0.5), "leaky_relu": ("leakyrelu", 0.2, 0.0)}


@dataclass(frozen=True)
class Activation:
    name: str  # one of NAMES
    alpha: float = 0.0
    beta: float = 0.0

    @property
    def spec(self):
        if (self.alpha, self.beta) == DEFAULTS.get(self.name, (0.0, 0.0)):
            return self.name
        return [self.name, self.alpha, self.beta]

    @property
    def onnx_name(self):
        return {"leakyrelu": "LeakyRelu", "thresholdedrelu": "ThresholdedRelu",
                "scaledtanh": "ScaledTanh", "hardsigmoid": "HardSigmoid", "softsign": "Softsign",
                "softplus": "Softplus"}.get(self.name, self.name.capitalize())

    def __call__(self, a, out=None):
        """act(a), into ``out`` (which may be ``a``)."""
        xp = array_module(a)
        name, alpha, beta = self.name, self.alpha, self.beta
        if name == "sigmoid":
            return sigmoid(a, out=out)
        if name == "tanh":
            return xp.tanh(a, out=out)
        if name == "relu":
            return xp.maximum(a, 0, out=out)
        if name == "affine":
            y = xp.multiply(a, alpha, out=out)
            y += beta
            return y
        if name == "softsign":
            return xp.divide(a, 1 + xp.abs(a), out=out)
        if name == "softplus":
            return xp.logaddexp(0, a, out=out)
        if name == "scaledtanh":
            y = xp.multiply(a, beta, out=out)
            xp.tanh(y, out=y)
            y *= alpha
            return y
        if name == "hardsigmoid":
            y = xp.multiply(a, alpha, out=out)
            y += beta
            return xp.clip(y, 0, 1, out=y)
        if name == "leakyrelu":
            value = xp.where(a >= 0, a, alpha * a)
        elif name == "thresholdedrelu":
            value = xp.where(a > alpha, a, 0)
        else:  # elu
            value = xp.where(a >= 0, a, alpha * xp.expm1(xp.minimum(a, 0)))
        if out is None:
            return value.astype(a.dtype, copy=False)
        out[...] = value
        return out

    @property
    def needs_input(self):
        """Whether ``derivative`` reads the pre-activation (all but sigmoid, tanh, relu)."""
        return self.name not in ("sigmoid", "tanh", "relu")

    def derivative(self, a, y):
        """dy/da at the pre-activation ``a`` with output ``y``."""
        name, alpha, beta = self.name, self.alpha, self.beta
        if name == "sigmoid":  # from y alone: ``a`` may be None
            return y * (1 - y)
        if name == "tanh":
            return 1 - y * y
        if name == "relu":
            return (y > 0).astype(y.dtype)
        xp = array_module(a)
        one = xp.ones_like(a)
        if name == "affine":
            return one * alpha
        if name == "leakyrelu":
            return xp.where(a >= 0, one, alpha * one)
        if name == "thresholdedrelu":
            return (a > alpha).astype(a.dtype)
        if name == "scaledtanh":
            t = xp.tanh(beta * a)
            return alpha * beta * (1 - t * t)
        if name == "hardsigmoid":
            inside = (alpha * a + beta > 0) & (alpha * a + beta < 1)
            return inside * one * alpha
        if name == "elu":
            return xp.where(a >= 0, one, y + alpha)
        if name == "softsign":
            return 1 / (1 + xp.abs(a)) ** 2
        return sigmoid(a)  # softplus


SIGMOID, TANH = Activation("sigmoid"), Activation("tanh")


def gate_activation(spec):
    """An ``Activation`` from a spec (module docstring); ValueError naming a bad one."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        name = spec.lower()
        if name in KERAS:
            return Activation(*KERAS[name])
        if name in NAMES:
            return Activation(name, *DEFAULTS.get(name, (0.0, 0.0)))
    elif isinstance(spec, (list, tuple)) and len(spec) in (2, 3) and str(spec[0]).lower() in NAMES:
        name = str(spec[0]).lower()
        values = [float(v) for v in spec[1:]] + [DEFAULTS.get(name, (0.0, 0.0))[1]] * (3 - len(spec))
        if all(np.isfinite(values)):
            return Activation(name, *values)
    raise ValueError(f"activation: expected one of {', '.join(NAMES + tuple(KERAS))} or "
                     f"(name, alpha, beta), got {spec!r}")


def gate_activations(specs, defaults):
    """A cell's activations -> a tuple of ``Activation``, or None when they are the
    ``defaults`` (names): the cell's plain path then runs."""
    if specs is None:
        return None
    specs = tuple(gate_activation(s) for s in specs)
    if len(specs) != len(defaults):
        raise ValueError(f"activations: expected {len(defaults)} ({', '.join(defaults)}), "
                         f"got {len(specs)}")
    return None if [s.spec for s in specs] == list(defaults) else specs
