"""Stacked bidirectional layers against PyTorch nn.LSTM / nn.GRU on the same weights,
with and without packed variable lengths: outputs, final states and every gradient."""
import numpy as np
import pytest
from conftest import TOLERANCES

torch = pytest.importorskip("torch")
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402
from torch_oracle import reorder_lstm_blocks, tensor  # noqa: E402

from rnnlab.layers import GRU, LSTM, Bidirectional  # noqa: E402
from rnnlab.testing import rel_error  # noqa: E402

pytestmark = pytest.mark.oracle

N, T, D, H, LAYERS = 4, 7, 5, 6, 2
TOLERANCE = TOLERANCES["torch_float64"]


def torch_layout(kind, module, layer, direction):
    """rnnlab's (Wx, Wh, b) of one layer and direction of a torch module, and a function
    from the torch gradients to rnnlab's."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    get = lambda name: getattr(module, name + suffix)  # noqa: E731
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    if kind == "lstm":
        def convert(w_ih, w_hh, b_ih, b_hh):
            return {"Wx": reorder_lstm_blocks(w_ih.T), "Wh": reorder_lstm_blocks(w_hh.T),
                    "b": reorder_lstm_blocks(b_ih + b_hh)}
    else:
        def convert(w_ih, w_hh, b_ih, b_hh):
            return {"Wx": w_ih.T, "Wh": w_hh.T, "b": np.stack([b_ih, b_hh])}
    weights = convert(*(get(n).detach().numpy() for n in names))

    def grads():
        g = convert(*(get(n).grad.numpy() for n in names))
        if kind == "lstm":  # b = b_ih + b_hh: its gradient is either one's
            g["b"] = reorder_lstm_blocks(get("bias_ih").grad.numpy())
        return g

    return {k: np.ascontiguousarray(v) for k, v in weights.items()}, grads


@pytest.mark.parametrize("lengths", [None, [7, 3, 5, 1]])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_two_layer_bidirectional_matches_torch(kind, lengths):
    rng = np.random.default_rng(7)
    torch.manual_seed(0)
    module = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(
        D, H, num_layers=LAYERS, bidirectional=True, batch_first=True).double()
    n_states = 2 if kind == "lstm" else 1
    x = rng.standard_normal((N, T, D))
    states0 = [rng.standard_normal((2 * LAYERS, N, H)) for _ in range(n_states)]
    dout = rng.standard_normal((N, T, 2 * H))
    dfinal = [rng.standard_normal((2 * LAYERS, N, H)) for _ in range(n_states)]
    valid = np.ones((N, T), bool) if lengths is None else np.arange(T) < np.array(lengths)[:, None]
    dout *= valid[..., None]  # torch's padded outputs are constant zeros

    # PyTorch
    tx, tstates = tensor(x), [tensor(s) for s in states0]
    inputs = tx if lengths is None else pack_padded_sequence(tx, lengths, batch_first=True,
                                                            enforce_sorted=False)
    out, finals = module(inputs, tuple(tstates) if kind == "lstm" else tstates[0])
    if lengths is not None:
        out = pad_packed_sequence(out, batch_first=True, total_length=T)[0]
    finals = finals if kind == "lstm" else (finals,)
    loss = (out * tensor(dout, False)).sum()
    for f, df in zip(finals, dfinal):
        loss = loss + (f * tensor(df, False)).sum()
    loss.backward()

    # rnnlab: two Bidirectional layers, states in and out
    cell = LSTM if kind == "lstm" else GRU
    layers = [Bidirectional(cell(H, return_sequences=True, return_state=True)) for _ in range(LAYERS)]
    torch_grads = {}
    for k, layer in enumerate(layers):
        layer.build((T, D if k == 0 else 2 * H), np.float64)
        for d, inner in enumerate(layer.sublayers()):
            weights, torch_grads[k, d] = torch_layout(kind, module, k, d)
            for name, value in weights.items():
                inner.params[name][...] = value
    h = x
    ours_final = []
    for k, layer in enumerate(layers):
        init = [s[2 * k + d] for d in range(2) for s in states0]
        h, *states = layer.forward(h, initial_state=init, lengths=lengths)
        ours_final.append(states)
    assert rel_error(h, out.detach().numpy()) < TOLERANCE
    for k in range(LAYERS):
        for d in range(2):
            for s in range(n_states):
                theirs = finals[s][2 * k + d].detach().numpy()
                assert rel_error(ours_final[k][d * n_states + s], theirs) < TOLERANCE, (k, d, s)

    dh = dout
    dinit = {}
    for k in reversed(range(LAYERS)):
        dstates = [dfinal[s][2 * k + d] for d in range(2) for s in range(n_states)]
        dh = layers[k].backward((dh, *dstates))
        dinit[k] = layers[k].dinitial_state
    assert rel_error(dh, tx.grad.numpy()) < TOLERANCE
    for k in range(LAYERS):
        for d, inner in enumerate(layers[k].sublayers()):
            for name, g in torch_grads[k, d]().items():
                assert rel_error(inner.grads[name], g) < TOLERANCE, (k, d, name)
            for s in range(n_states):
                theirs = tstates[s].grad[2 * k + d].numpy()
                assert rel_error(dinit[k][d * n_states + s], theirs) < TOLERANCE, (k, d, s)
