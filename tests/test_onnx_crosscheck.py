"""rnnlab's forward against ONNX Runtime's LSTM, GRU and RNN operators on the same
weights, float32, to 1e-5."""
import numpy as np
import pytest
from conftest import TOLERANCES

pytest.importorskip("onnxruntime")
from rnnlab.functional import gru_forward, lstm_forward, rnn_forward
from rnnlab.interop.onnx_graph import (
    gru_to_onnx,
    lstm_to_onnx,
    recurrent_node_model,
    rnn_to_onnx,
    run_model,
)
from rnnlab.testing import rel_error

N, T, D, H = 3, 9, 5, 6
ONNX_TOLERANCE = TOLERANCES["onnx_float32"]
pytestmark = pytest.mark.oracle


def arrays(rng, *shapes, scale=0.6):
    return [(rng.standard_normal(s) * scale).astype(np.float32) for s in shapes]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"peepholes": "ifo"},
        {"peepholes": "fo"},
        {"cifg": True},
        {"cifg": True, "peepholes": "fo"},
        {"gate_clip": 0.7},
        {"gate_clip": 0.7, "peepholes": "ifo"},
        {"gate_clip": 0.7, "peepholes": "fo", "cifg": True},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()) or "plain",
)
def test_lstm_matches_onnx_runtime(rng, options):
    cifg = options.get("cifg", False)
    G = (3 if cifg else 4) * H
    x, h0, c0, Wx, Wh, b = arrays(rng, (N, T, D), (N, H), (N, H), (D, G), (H, G), (G,))
    peepholes = {"p_" + g: arrays(rng, (H,))[0] for g in options.get("peepholes", "")}
    gate_clip = options.get("gate_clip")
    h, cache = lstm_forward(x, h0, Wx, Wh, b, c0=c0, peepholes=peepholes, cifg=cifg, gate_clip=gate_clip)

    W, R, B, P = lstm_to_onnx(Wx, Wh, b, peepholes=peepholes, cifg=cifg)
    attributes = {"input_forget": int(cifg)}
    if gate_clip is not None:
        attributes["clip"] = gate_clip
    model = recurrent_node_model("LSTM", [W, R, B] + ([P] if P is not None else []), H,
                                 with_cell=True, **attributes)
    Y, Y_h, Y_c = run_model(model, x, h0, c0)
    for name, ours, theirs in [("h", h, Y), ("final_h", cache.final_h, Y_h), ("final_c", cache.final_c, Y_c)]:
        assert rel_error(ours, theirs) < ONNX_TOLERANCE, name


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_onnx_runtime(rng, reset_after):
    x, h0, Wx, Wh = arrays(rng, (N, T, D), (N, H), (D, 3 * H), (H, 3 * H))
    (b,) = arrays(rng, (2, 3 * H) if reset_after else (3 * H,))
    h, cache = gru_forward(x, h0, Wx, Wh, b, reset_after=reset_after)
    model = recurrent_node_model("GRU", gru_to_onnx(Wx, Wh, b, reset_after), H,
                                 linear_before_reset=int(reset_after))
    Y, Y_h = run_model(model, x, h0)
    assert rel_error(h, Y) < ONNX_TOLERANCE
    assert rel_error(cache.final_h, Y_h) < ONNX_TOLERANCE


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_matches_onnx_runtime(rng, nonlinearity):
    x, h0, Wx, Wh, b = arrays(rng, (N, T, D), (N, H), (D, H), (H, H), (H,))
    h, _ = rnn_forward(x, h0, Wx, Wh, b, nonlinearity=nonlinearity)
    model = recurrent_node_model("RNN", rnn_to_onnx(Wx, Wh, b), H, activations=[nonlinearity.capitalize()])
    Y, Y_h = run_model(model, x, h0)
    assert rel_error(h, Y) < ONNX_TOLERANCE
