"""Keras weights both ways: the variables of Keras `Embedding`, `Dense`, `SimpleRNN`, `LSTM`,
`GRU` (reset_after True or False) and `Bidirectional` layers, read from a Keras 3
``.weights.h5`` file (``model.save_weights``) into the matching rnnlab layers, and
written into one (``save_keras_weights``: the file ``load_weights`` of the same Keras
model reads). Needs h5py (the ``interop`` extra).

The file: one group per layer, ``layers/<keras name>``, its variables the datasets
``vars/0``, ``vars/1``, ... in creation order; a recurrent layer keeps them in its cell,
``layers/<name>/cell/vars``; a Bidirectional in ``forward_layer/cell/vars`` and
``backward_layer/cell/vars``; a TimeDistributed in ``layer/vars``.

    Embedding  vars/0 embeddings (V, D)                      -> W
    Dense      vars/0 kernel (D, M), vars/1 bias (M,)        -> W, b
    SimpleRNN  kernel (D, H), recurrent_kernel (H, H), bias  -> Wx, Wh, b
    LSTM       columns i, f, c, o                            -> i, f, o, g (c = g)
    GRU        columns z, r, h; bias (2, 3H) with reset_after (row 0 input, row 1
               recurrent), (3H,) without                     -> r, z, n

Layers are matched by name (rnnlab's default names follow Keras': ``lstm``,
``lstm_1``, ...); ``names`` maps an rnnlab name to a different Keras one.
"""
import numpy as np

from ..layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN, TimeDistributed
from .blocks import RNNLAB_GRU, RNNLAB_LSTM, reorder_blocks
from .support import check_supported

KERAS_LSTM = ("i", "f", "g", "o")  # Keras' i, f, c, o in rnnlab's names
KERAS_GRU = ("z", "r", "n")  # Keras' z, r, h
# class -> options it has (a weights file holds no activation: any maps)
KERAS_HAS = {LSTM: ("activation", "recurrent_activation"),
             GRU: ("reset_after", "activation", "recurrent_activation"), SimpleRNN: ("activation",)}


def load_keras_weights(target, path, names=None):
    """Copy the weights of a Keras ``.weights.h5`` file into ``target`` (a built model or
    a list of built layers), layer by layer; layers without parameters are skipped.
    -> {rnnlab layer name: Keras layer name} of the layers loaded."""
    import h5py

    names = dict(names or {})
    layers = [layer for layer in getattr(target, "layers", target) if layer.params or layer.sublayers()]
    if not all(layer.built for layer in layers):
        raise ValueError("target: build the model first (give input_shape or run a forward)")
    loaded = {}
    with h5py.File(path, "r") as f:
        if "layers" not in f:
            raise ValueError(f"{path}: no 'layers' group; not a Keras 3 .weights.h5 file")
        groups = f["layers"]
        for layer in layers:
            keras_name = names.get(layer.name, layer.name)
            if keras_name not in groups:
                raise ValueError(f"{path}: no Keras layer {keras_name!r} for rnnlab's {layer.name!r}; "
                                 f"the file has {sorted(groups)} (map names with names=)")
            _load(layer, groups[keras_name], f"{path}:layers/{keras_name}")
            loaded[layer.name] = keras_name
    return loaded


def save_keras_weights(source, path):
    """Write the weights of ``source`` (a built model or a list of built layers) as a Keras
    3 ``.weights.h5`` file, each layer under its rnnlab name (Keras' default names);
    Dropout and other layers without weights are left out. A layer Keras has no
    counterpart for (a tied output layer, a Clockwork cell, peepholes, ...) is refused
    by name, before anything is written."""
    import h5py

    layers = [layer for layer in getattr(source, "layers", source) if layer.params or layer.sublayers()]
    groups = {layer.name: _keras_variables(layer) for layer in layers}
    with h5py.File(path, "w") as f:
        for name, variables in groups.items():
            for sub, arrays in variables.items():
                group = f.create_group(f"layers/{name}/{sub}" if sub else f"layers/{name}/vars")
                for k, array in enumerate(arrays):
                    group.create_dataset(str(k), data=array)


def _keras_variables(layer):
    """{path of a vars group under the layer's group: its arrays}, as ``_load`` reads them."""
    if isinstance(layer, Bidirectional):
        return {f"{path}/cell/vars": _recurrent_variables(sub, f"{layer.name}/{path}")
                for sub, path in ((layer.forward_layer, "forward_layer"),
                                  (layer.backward_layer, "backward_layer"))}
    if isinstance(layer, (LSTM, GRU, SimpleRNN)):
        return {"cell/vars": _recurrent_variables(layer, layer.name)}
    if isinstance(layer, Embedding):
        return {"": [layer.params["W"]]}
    dense = layer.layer if isinstance(layer, TimeDistributed) else layer
    if type(dense) is Dense:
        arrays = [dense.params["W"]] + ([dense.params["b"]] if dense.use_bias else [])
        return {"layer/vars" if dense is not layer else "": arrays}
    raise ValueError(f"{layer.name}: Keras has no counterpart of rnnlab's "
                     f"{type(dense).__name__}")


def _recurrent_variables(layer, where):
    """kernel, recurrent_kernel, bias in Keras' gate order."""
    check_supported(layer, KERAS_HAS, "Keras", where)
    p = layer.params
    arrays = (p["Wx"], p["Wh"], layer.total_bias())
    if type(layer) is LSTM:
        return [reorder_blocks(a, RNNLAB_LSTM, KERAS_LSTM) for a in arrays]
    if type(layer) is GRU:
        return [reorder_blocks(a, RNNLAB_GRU, KERAS_GRU) for a in arrays]
    return [np.ascontiguousarray(a) for a in arrays]


def _variables(group, where, *paths):
    """The arrays vars/0, vars/1, ... of the first of ``paths`` under group that has any."""
    for path in paths:
        sub = f"{path}/vars" if path else "vars"
        if sub in group and len(group[sub]):
            return [np.asarray(group[sub][str(k)]) for k in range(len(group[sub]))]
    raise ValueError(f"{where}: no variables under {' or '.join(p + '/vars' if p else 'vars' for p in paths)}")


def _load(layer, group, where):
    if isinstance(layer, Bidirectional):
        for sub, path in ((layer.forward_layer, "forward_layer"), (layer.backward_layer, "backward_layer")):
            _load_recurrent(sub, _variables(group[path], f"{where}/{path}", "cell", ""), f"{where}/{path}")
    elif isinstance(layer, (LSTM, GRU, SimpleRNN)):
        _load_recurrent(layer, _variables(group, where, "cell", ""), where)
    elif isinstance(layer, Embedding):
        _assign(layer, {"W": _variables(group, where, "")[0]}, where)
    elif isinstance(layer, (Dense, TimeDistributed)):
        dense = layer.layer if isinstance(layer, TimeDistributed) else layer
        if not isinstance(dense, Dense):
            raise ValueError(f"{where}: TimeDistributed({type(dense).__name__}) has no Keras weights to read")
        arrays = _variables(group, where, "", "layer")
        _assign(dense, dict(zip(("W", "b"), arrays)), where)
    else:
        raise ValueError(f"{where}: rnnlab's {type(layer).__name__} has no Keras counterpart here")


def _load_recurrent(layer, arrays, where):
    """kernel, recurrent_kernel and bias; a layer saved with ``use_bias=False`` has no
    bias: rnnlab's is zero then (a GRU's convention, reset_after, cannot be read from a
    bias-free file: the rnnlab layer's must be the Keras layer's)."""
    if len(arrays) not in (2, 3):
        raise ValueError(f"{where}: expected kernel, recurrent_kernel and bias (or no bias: "
                         f"use_bias=False), got {len(arrays)} arrays")
    check_supported(layer, KERAS_HAS, "Keras", where)
    if len(arrays) == 2:
        arrays = arrays + [np.zeros(layer.params["b"].shape, arrays[0].dtype)]
    kernel, recurrent, bias = arrays
    if type(layer) is LSTM:
        params = {k: reorder_blocks(a, KERAS_LSTM, RNNLAB_LSTM)
                  for k, a in (("Wx", kernel), ("Wh", recurrent), ("b", bias))}
    elif type(layer) is GRU:
        if (bias.ndim == 2) != layer.reset_after:
            raise ValueError(f"{where}: a Keras GRU with reset_after={bias.ndim == 2} (bias "
                             f"{bias.shape}) for rnnlab's GRU with reset_after={layer.reset_after}")
        params = {k: reorder_blocks(a, KERAS_GRU, RNNLAB_GRU)
                  for k, a in (("Wx", kernel), ("Wh", recurrent), ("b", bias))}
    else:
        params = {"Wx": kernel, "Wh": recurrent, "b": bias}
    if layer.recurrent_bias:  # Keras has the one bias
        params["b_h"] = np.zeros_like(layer.params["b_h"])
    _assign(layer, params, where)


def _assign(layer, arrays, where):
    for name, value in arrays.items():
        target = layer.params[name]
        if value.shape != target.shape:
            raise ValueError(f"{where}: {name} is {value.shape} in the file, {target.shape} in "
                             f"rnnlab's {layer.name}")
        target[...] = value
