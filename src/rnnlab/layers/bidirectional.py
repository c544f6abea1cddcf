"""Bidirectional(layer, merge_mode): the layer reads forward, a copy of it reads backward.

    y_f = layer(x),  y_b = copy(x) with go_backwards, re-reversed in time so that
    y_b[:, t] belongs to input step t (within each sequence's own length when masked)
    merge_mode  concat: [y_f, y_b] (last axis)   sum: y_f + y_b   ave: (y_f + y_b) / 2
                mul: y_f * y_b                   None: the list [y_f, y_b]

Backward: concat splits dy; sum passes dy to both; ave dy / 2; mul dy * y_b and
dy * y_f. ``return_state`` gives (out, forward states..., backward states...), as
Keras; ``initial_state`` takes them in that order.
"""
import copy

import numpy as np

from .base import Layer
from .recurrent import Recurrent

MERGE_MODES = ("concat", "sum", "ave", "mul", None)


class Bidirectional(Layer):
    supports_masking = True

    def __init__(self, layer, merge_mode="concat", name=None):
        if not isinstance(layer, Recurrent):
            raise ValueError(f"layer: expected a recurrent layer, got {type(layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode: expected one of {MERGE_MODES}, got {merge_mode!r}")
        if layer.built:
            raise ValueError(f"layer: expected an unbuilt layer (its copy gets fresh weights), "
                             f"got the built layer {layer.name!r}")
        super().__init__(name)
        self.merge_mode = merge_mode
        backward = copy.deepcopy(layer)
        backward.go_backwards = not layer.go_backwards
        self.forward_layer, self.backward_layer = layer, backward
        layer.name, backward.name = "forward_" + layer.name, "backward_" + layer.name
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape, dtype=np.float32, rng=None):
        rng = rng if rng is not None else self.rng  # one stream: the copies differ
        for layer in self.sublayers():
            layer.build(input_shape, dtype, rng)
        self.dtype, self.built, self.input_shape = np.dtype(dtype), True, tuple(input_shape)
        return self.output_shape(tuple(input_shape))

    def output_shape(self, input_shape):
        shape = self.forward_layer.output_shape(input_shape)
        out = shape[0] if self.return_state else shape
        if self.merge_mode == "concat":
            out = out[:-1] + (2 * out[-1],)
        elif self.merge_mode is None:
            out = [out, out]
        if self.return_state:
            return (out,) + 2 * tuple(shape[1:])
        return out

    def output_mask(self, mask):
        return self.forward_layer.output_mask(mask)

    def reset_states(self):
        for layer in self.sublayers():
            layer.reset_states()

    def forward(self, x, mask=None, initial_state=None, lengths=None):
        self.ensure_built(x)
        n_states = len(self.forward_layer.state_names)
        if initial_state is not None and len(initial_state) != 2 * n_states:
            raise ValueError(f"initial_state: expected {2 * n_states} arrays (forward then "
                             f"backward states), got {len(initial_state)}")
        init = (None, None) if initial_state is None else (initial_state[:n_states],
                                                           initial_state[n_states:])
        outs = [layer.forward(x, mask=mask, initial_state=s, lengths=lengths)
                for layer, s in zip(self.sublayers(), init)]
        states = ()
        if self.return_state:
            states = outs[0][1:] + outs[1][1:]
            outs = [outs[0][0], outs[1][0]]
        y_f, y_b = outs
        if self.return_sequences:
            y_b = y_b[:, ::-1]
        self._y = (y_f, y_b)
        merged = merge(self.merge_mode, y_f, y_b)
        return (merged,) + states if self.return_state else merged

    def backward(self, dout):
        n_states = len(self.forward_layer.state_names)
        dstates = (None,) * 2 * n_states
        if self.return_state:
            dout, dstates = dout[0], tuple(dout[1:])
        dy_f, dy_b = merge_backward(self.merge_mode, dout, *self._y)
        if self.return_sequences and dy_b is not None:
            dy_b = dy_b[:, ::-1]
        dx = 0
        for layer, dy, ds in zip(self.sublayers(), (dy_f, dy_b),
                                 (dstates[:n_states], dstates[n_states:])):
            dx = dx + layer.backward((dy,) + ds if self.return_state else dy)
        self.dinitial_state = self.forward_layer.dinitial_state + self.backward_layer.dinitial_state
        return dx


def merge(mode, y_f, y_b):
    if mode == "concat":
        return np.concatenate([y_f, y_b], axis=-1)
    if mode == "sum":
        return y_f + y_b
    if mode == "ave":
        return (y_f + y_b) / 2
    if mode == "mul":
        return y_f * y_b
    return [y_f, y_b]


def merge_backward(mode, dout, y_f, y_b):
    """-> (dy_f, dy_b) from the gradient on the merged output."""
    if dout is None:
        return None, None
    if mode == "concat":
        P = y_f.shape[-1]
        return dout[..., :P], dout[..., P:]
    if mode == "sum":
        return dout, dout
    if mode == "ave":
        return dout / 2, dout / 2
    if mode == "mul":
        return dout * y_b, dout * y_f
    return dout[0], dout[1]
