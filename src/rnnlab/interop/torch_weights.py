"""PyTorch recurrent weights both ways: ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (any
num_layers, bidirectional, proj_size, bias) <-> rnnlab layers. Needs torch only for
``to_torch`` and for reading a module; a state_dict of NumPy arrays needs nothing.

    layers = from_torch(module)                  # or from_torch(state_dict, "lstm")
    model = Sequential(layers, dtype="float64")  # built layers keep their weights
    module = to_torch(model)                     # or a layer, or a list of layers

Per layer and direction (suffix _l{k}, _l{k}_reverse), PyTorch -> rnnlab:

    LSTM  rows i, f, g, o -> columns i, f, o, g:  Wx = W_ih^T, Wh = W_hh^T, b = b_ih + b_hh
          (reordered); proj_size: Wp = W_hr^T, and Wh is (P, 4H)
    GRU   rows r, z, n (rnnlab's order; reset_after=True): Wx = W_ih^T, Wh = W_hh^T,
          b = [b_ih; b_hh] (2, 3H)
    RNN   Wx = W_ih^T, Wh = W_hh^T, b = b_ih + b_hh; nonlinearity tanh or relu
    bias=False reads as zero biases. rnnlab -> PyTorch puts b in b_ih and zeros in b_hh
    (LSTM, RNN: only the sum is defined).
"""
import re

import numpy as np

from ..layers import GRU, LSTM, Bidirectional, Recurrent, SimpleRNN
from .blocks import RNNLAB_LSTM, reorder_blocks
from .support import check_supported

TORCH_LSTM = ("i", "f", "g", "o")
KINDS = {"lstm": LSTM, "gru": GRU, "rnn_tanh": SimpleRNN, "rnn_relu": SimpleRNN}
KEY = re.compile(r"(weight_ih|weight_hh|weight_hr|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def from_torch(source, kind=None, dtype=None, recurrent_bias=False):
    """rnnlab layers (built, one per PyTorch layer, Bidirectional where the module is,
    return_sequences=True) holding the weights of ``source``: an ``nn.LSTM``, ``nn.GRU``
    or ``nn.RNN``, or a state_dict (tensors or arrays) with ``kind`` "lstm", "gru",
    "rnn_tanh" or "rnn_relu". dtype: the module's (default), or float32 / float64.
    The LSTM's and RNN's bias_ih + bias_hh become b, or with ``recurrent_bias`` b and
    b_h (the same outputs; training then moves the biases as PyTorch does)."""
    if hasattr(source, "state_dict"):
        mode = getattr(source, "mode", None)
        kind = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}.get(mode)
        if kind is None:
            raise ValueError(f"source: expected nn.LSTM, nn.GRU or nn.RNN, got {type(source).__name__}")
        source = source.state_dict()
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {sorted(KINDS)} with a state_dict, got {kind!r}")
    weights = {}
    for name, value in source.items():
        match = KEY.match(name)
        if not match:
            raise ValueError(f"state_dict: unexpected key {name!r} for a PyTorch {kind} module")
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        weights[(int(match[2]), bool(match[3]), match[1])] = array
    num_layers = 1 + max(layer for layer, _, _ in weights)
    bidirectional = any(reverse for _, reverse, _ in weights)
    dtype = np.dtype(dtype or next(iter(weights.values())).dtype)
    layers = []
    for k in range(num_layers):
        directions = [_rnnlab_weights(kind, weights, k, reverse, recurrent_bias)
                      for reverse in (False, True)[: 1 + bidirectional]]
        H = directions[0]["Wx"].shape[1] // {"lstm": 4, "gru": 3}.get(kind, 1)
        options = {"proj_size": directions[0]["Wp"].shape[1]} if "Wp" in directions[0] else {}
        if recurrent_bias and kind != "gru":
            options["recurrent_bias"] = True
        if kind.startswith("rnn"):
            options["activation"] = kind[4:]
        layer = KINDS[kind](H, return_sequences=True, **options)
        layer = Bidirectional(layer) if bidirectional else layer
        layer.build((None, directions[0]["Wx"].shape[0]), dtype)
        for sub, params in zip(_directions(layer), directions):
            for name, value in params.items():
                sub.params[name][...] = value
        layers.append(layer)
    return layers


def _rnnlab_weights(kind, weights, k, reverse, recurrent_bias):
    def get(name, like=None):
        if (k, reverse, name) in weights:
            return weights[(k, reverse, name)]
        if like is None:
            raise ValueError(f"state_dict: missing {name}_l{k}{'_reverse' if reverse else ''}")
        return np.zeros(like.shape[0], like.dtype)  # bias=False

    w_ih, w_hh = get("weight_ih"), get("weight_hh")
    b_ih, b_hh = get("bias_ih", w_ih), get("bias_hh", w_ih)
    if kind == "gru":
        return {"Wx": w_ih.T, "Wh": w_hh.T, "b": np.stack([b_ih, b_hh])}
    biases = {"b": b_ih, "b_h": b_hh} if recurrent_bias else {"b": b_ih + b_hh}
    if kind != "lstm":
        return {"Wx": w_ih.T, "Wh": w_hh.T, **biases}
    params = {"Wx": reorder_blocks(w_ih.T, TORCH_LSTM, RNNLAB_LSTM),
              "Wh": reorder_blocks(w_hh.T, TORCH_LSTM, RNNLAB_LSTM),
              **{name: reorder_blocks(b, TORCH_LSTM, RNNLAB_LSTM) for name, b in biases.items()}}
    if (k, reverse, "weight_hr") in weights:
        params["Wp"] = weights[(k, reverse, "weight_hr")].T
    return params


def _directions(layer):
    return [layer.forward_layer, layer.backward_layer] if isinstance(layer, Bidirectional) else [layer]


def to_torch(source, batch_first=True):
    """An ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (the rnnlab dtype) computing what the
    recurrent layers of ``source`` compute: a built layer, a list of them or a model
    (other layers, such as Dropout or Dense, are not part of the module and are left
    out). The layers must be one kind, size and direction setting; options PyTorch has
    no counterpart for (peepholes, CIFG, clipping, layer norm, reset_after=False, the
    Clockwork and depth-gated cells, a lone go_backwards) are refused by name."""
    import torch

    layers = _recurrent_layers(source)
    first = _directions(layers[0])[0]
    kind = _torch_kind(first)
    for layer in layers:
        if isinstance(layer, Recurrent) and layer.go_backwards:
            raise ValueError(f"{layer.name}: go_backwards alone has no PyTorch counterpart "
                             f"(wrap it in Bidirectional)")
        for sub in _directions(layer):
            if _torch_kind(sub) != kind or sub.units != first.units \
                    or getattr(sub, "proj_size", None) != getattr(first, "proj_size", None):
                raise ValueError(f"{sub.name}: every layer must be a {kind} of {first.units} "
                                 f"units for one PyTorch module")
    bidirectional = isinstance(layers[0], Bidirectional)
    if any(isinstance(layer, Bidirectional) != bidirectional for layer in layers):
        raise ValueError("layers: either every layer is Bidirectional or none")
    D = first.params["Wx"].shape[0]
    options = dict(num_layers=len(layers), bias=True, batch_first=batch_first,
                   bidirectional=bidirectional)
    if kind == "lstm":
        module = torch.nn.LSTM(D, first.units, proj_size=first.proj_size or 0, **options)
    elif kind == "gru":
        module = torch.nn.GRU(D, first.units, **options)
    else:
        module = torch.nn.RNN(D, first.units, nonlinearity=kind[4:], **options)
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[first.dtype]
    module = module.to(dtype)
    with torch.no_grad():
        for k, layer in enumerate(layers):
            for reverse, sub in enumerate(_directions(layer)):
                suffix = f"_l{k}" + ("_reverse" if reverse else "")
                for name, value in _torch_weights(kind, sub.params).items():
                    getattr(module, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return module


def _recurrent_layers(source):
    layers = getattr(source, "layers", source)
    layers = [layers] if not isinstance(layers, (list, tuple)) else list(layers)
    recurrent = [layer for layer in layers if isinstance(layer, (Recurrent, Bidirectional))]
    if not recurrent:
        raise ValueError("source: no recurrent layer to convert")
    if not all(layer.built for layer in recurrent):
        raise ValueError("source: build the layers first (run a forward or build them)")
    return recurrent


PYTORCH_HAS = {LSTM: ("proj_size",), GRU: (), SimpleRNN: ("activation",)}  # class -> options


def _torch_kind(layer):
    check_supported(layer, PYTORCH_HAS, "PyTorch")
    if type(layer) is SimpleRNN:
        if layer.activation not in ("tanh", "relu"):
            raise ValueError(f"{layer.name}: PyTorch's RNN has no activation="
                             f"{layer.activation!r} (tanh or relu)")
        return "rnn_" + layer.activation
    return type(layer).__name__.lower()


def _torch_weights(kind, p):
    if kind == "gru":
        return {"weight_ih": p["Wx"].T, "weight_hh": p["Wh"].T, "bias_ih": p["b"][0], "bias_hh": p["b"][1]}

    def blocks(a):  # rnnlab's LSTM column blocks in PyTorch's order
        return reorder_blocks(a, RNNLAB_LSTM, TORCH_LSTM) if kind == "lstm" else a

    weights = {"weight_ih": blocks(p["Wx"]).T, "weight_hh": blocks(p["Wh"]).T,
               "bias_ih": blocks(p["b"]), "bias_hh": blocks(p.get("b_h", np.zeros_like(p["b"])))}
    if "Wp" in p:
        weights["weight_hr"] = p["Wp"].T
    return weights


def language_model_state_dict(model):
    """A LanguageModel as the state_dict (tensors) of the RNNModel of PyTorch's
    word_language_model example: ``encoder.weight`` (V, E), ``rnn.*`` (the ``to_torch``
    module's), ``decoder.weight`` (V, H) and ``decoder.bias`` (the embedding's matrix
    again when the weights are tied)."""
    import torch

    from ..layers import Embedding, TiedDense, TimeDistributed

    embedding = next(layer for layer in model.layers if isinstance(layer, Embedding))
    output = model.layers[-1].layer if isinstance(model.layers[-1], TimeDistributed) else model.layers[-1]
    decoder = embedding.params["W"] if isinstance(output, TiedDense) else output.params["W"].T
    state = {"encoder.weight": embedding.params["W"]}
    state.update({f"rnn.{k}": v for k, v in to_torch(model).state_dict().items()})
    state.update({"decoder.weight": decoder, "decoder.bias": output.params["b"]})
    return {k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
            for k, v in state.items()}
