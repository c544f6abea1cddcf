"""What a language model computes on a text, step by step: every recurrent layer's
hidden state h_t, its cell tanh(c_t) (LSTMs), its gate values, and the model's
next-token probabilities. The material of the visualiser and of the gate statistics
(Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks")."""
from dataclasses import dataclass, field

import numpy as np

from ..functional.activations import softmax
from ..layers import Recurrent

@dataclass
class LayerTrace:
    name: str
    h: np.ndarray  # (T, H) hidden state after each token
    cell: np.ndarray = None  # (T, H) tanh(c_t), LSTMs only
    gates: dict = field(default_factory=dict)  # gate name -> (T, H) values in [0, 1] or [-1, 1]
    candidates: tuple = ()  # the gates that are tanh candidates in [-1, 1], not sigmoid gates


@dataclass
class Trace:
    ids: np.ndarray  # (T,) the text's token ids
    layers: list  # LayerTrace per recurrent layer, bottom first
    probs: np.ndarray  # (T, V): p(token t+1 | tokens up to t)


def trace(model, ids):
    """Run ``model`` (a LanguageModel) over ``ids`` (T,) from zero states in inference
    mode -> Trace. The model's carried states and mode are left as they were."""
    ids = np.asarray(ids, dtype=np.int64)
    layers = []
    with model.inference():
        model.reset_states()
        x = ids[None]
        for layer in model.layers:
            x = layer.forward(x)
            if isinstance(layer, Recurrent):
                layers += [_layer_trace(name, cache, layer) for name, cache in layer.traced_caches()]
    return Trace(ids, layers, softmax(x[0].astype(np.float64), axis=-1))


def _layer_trace(name, cache, layer):
    """The trace of one cell's cache, its gates named as ``layer`` says."""
    trace = LayerTrace(name, np.asarray(cache.h[1:, 0], np.float64), candidates=layer.candidate_gates)
    if hasattr(cache, "tanh_c"):
        trace.cell = np.asarray(cache.tanh_c[:, 0], np.float64)
    names = layer.gate_names
    if names:
        blocks = np.split(np.asarray(cache.gates[:, 0], np.float64), len(names), axis=-1)
        trace.gates.update(zip(names, blocks))
    return trace


def saturation(trace, low=0.1, high=0.9):
    """Karpathy et al. 2015, Fig. 3: per layer and sigmoid gate, the fraction of steps
    each unit is left-saturated (< low) and right-saturated (> high).
    -> [(layer name, gate name, left (H,), right (H,))]"""
    rows = []
    for layer in trace.layers:
        for name, values in layer.gates.items():
            if name in layer.candidates:  # tanh candidates, not gates
                continue
            rows.append((layer.name, name, (values < low).mean(axis=0), (values > high).mean(axis=0)))
    return rows


def plot_saturation(rows, path, title=None):
    """The saturation fractions as one scatter plot per gate (x: left, y: right), one
    colour per layer, written as a PNG at ``path`` (matplotlib, the ``plot`` extra)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_saturation needs matplotlib: pip install 'rnnlab[plot]'") from None
    if not rows:
        raise ValueError("no gates to plot: the model has no LSTM or GRU layer")
    gates = list(dict.fromkeys(gate for _, gate, _, _ in rows))
    fig, axes = plt.subplots(1, len(gates), figsize=(3.2 * len(gates), 3.4), dpi=100, squeeze=False)
    for ax, gate in zip(axes[0], gates):
        for layer, name, left, right in rows:
            if name == gate:
                ax.scatter(left, right, s=8, alpha=0.6, label=layer)
        ax.plot([0, 1], [1, 0], color="0.7", linewidth=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="fraction left-saturated (< 0.1)",
               title=f"{gate} gate")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction right-saturated (> 0.9)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title or "gate saturation")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def pattern_indicator(tokens, pattern):
    """1.0 for each token whose first character lies inside a match of the regular
    expression ``pattern`` over the joined text, else 0.0 (the page's search, in Python)."""
    import re

    starts = np.cumsum([0] + [len(t) for t in tokens[:-1]])
    text = "".join(tokens)
    inside = np.zeros(len(tokens))
    for match in re.finditer(pattern, text):
        end = match.start() + max(len(match.group()), 1)
        inside[(starts >= match.start()) & (starts < end)] = 1.0
    return inside


def correlated_cells(trace, target, top=10):
    """The cells whose activation has the largest |Pearson r| with ``target`` (T,):
    -> [(|r|-ordered) (layer name, "tanh(c)" or "h", cell, r)]."""
    target = np.asarray(target, np.float64)
    found = []
    for layer in trace.layers:
        for quantity, values in (("tanh(c)", layer.cell), ("h", layer.h)):
            if values is None:
                continue
            centred = values - values.mean(axis=0)
            t = target - target.mean()
            denominator = np.sqrt((centred**2).sum(axis=0) * (t**2).sum())
            r = np.divide(centred.T @ t, denominator, out=np.zeros(values.shape[1]), where=denominator > 0)
            found += [(layer.name, quantity, int(k), float(r[k])) for k in range(values.shape[1])]
    return sorted(found, key=lambda row: -abs(row[3]))[:top]
