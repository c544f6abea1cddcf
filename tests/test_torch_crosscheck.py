"""rnnlab against PyTorch autograd on identical weights, float64: the LSTM, the RNN and
the GRU (outputs, final states and every gradient to 1e-10), the activations, the
temporal softmax loss and the fused softmax cross-entropy."""
import math

import numpy as np
import pytest
from conftest import TOLERANCES

torch = pytest.importorskip("torch")
from torch_oracle import rnnlab_weights, run_with_upstream, tensor, torch_gradients  # noqa: E402

from rnnlab.functional import (  # noqa: E402
    gru_backward,
    gru_forward,
    log_softmax,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
    sigmoid,
    softmax,
    temporal_softmax_loss,
    token_softmax_loss,
)
from rnnlab.testing import rel_error  # noqa: E402

pytestmark = pytest.mark.oracle
ORACLE_TOLERANCE = TOLERANCES["torch_float64"]
CASES = [(3, 7, 5, 6), (1, 1, 4, 3), (8, 30, 16, 32)]


def assert_close(name, ours, theirs):
    error = rel_error(ours, theirs)
    assert error < ORACLE_TOLERANCE, f"{name}: relative error {error:.2e} against PyTorch"


@pytest.mark.parametrize("N,T,D,H,P", [(*case, None) for case in CASES] + [(3, 7, 5, 6, 4), (2, 12, 8, 10, 3)])
def test_lstm_matches_torch(N, T, D, H, P):
    """nn.LSTM, and with P: nn.LSTM(proj_size=P) against rnnlab's projection Wp."""
    torch.manual_seed(N * 100 + T)
    module = torch.nn.LSTM(D, H, proj_size=P or 0, batch_first=True).double()
    out_size = P or H
    rng = np.random.default_rng(T)
    x, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, out_size)), rng.standard_normal((N, H))
    dh, dhT = rng.standard_normal((N, T, out_size)), rng.standard_normal((N, out_size))
    dcT = rng.standard_normal((N, H))

    tx, th0, tc0 = tensor(x), tensor(h0[None]), tensor(c0[None])
    out, (hT, cT) = module(tx, (th0, tc0))
    (out * tensor(dh, False)).sum().add((hT[0] * tensor(dhT, False)).sum()).add(
        (cT[0] * tensor(dcT, False)).sum()).backward()

    Wx, Wh, b = rnnlab_weights(module)
    Wp = module.weight_hr_l0.detach().numpy().T.copy() if P else None
    h, cache = lstm_forward(x, h0, Wx, Wh, b, c0=c0, Wp=Wp)
    assert_close("h", h, out.detach().numpy())
    assert_close("final_h", cache.final_h, hT[0].detach().numpy())
    assert_close("final_c", cache.final_c, cT[0].detach().numpy())

    grads = lstm_backward(dh, cache, dh_final=dhT, dc_final=dcT)
    dx, dh0, dWx, dWh, db = grads
    assert_close("dx", dx, tx.grad.numpy())
    assert_close("dh0", dh0, th0.grad[0].numpy())
    assert_close("dc0", grads.dc0, tc0.grad[0].numpy())
    if P:
        assert_close("dWp", grads.dWp, module.weight_hr_l0.grad.numpy().T)
    for name, ours, theirs in zip(["dWx", "dWh", "db"], [dWx, dWh, db], torch_gradients(module)):
        assert_close(name, ours, theirs)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("N,T,D,H", CASES)
def test_rnn_matches_torch(nonlinearity, N, T, D, H):
    torch.manual_seed(N * 100 + T)
    module = torch.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True).double()
    rng = np.random.default_rng(T)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    out, hT, tx, th0 = run_with_upstream(module, x, h0, dh, dhT)

    Wx, Wh, b = rnnlab_weights(module, lstm=False)
    h, cache = rnn_forward(x, h0, Wx, Wh, b, nonlinearity=nonlinearity)
    assert_close("h", h, out.detach().numpy())
    assert_close("final_h", cache.final_h, hT[0].detach().numpy())

    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache, dh_final=dhT)
    assert_close("dx", dx, tx.grad.numpy())
    assert_close("dh0", dh0, th0.grad[0].numpy())
    for name, ours, theirs in zip(["dWx", "dWh", "db"], [dWx, dWh, db],
                                  torch_gradients(module, lstm=False)):
        assert_close(name, ours, theirs)


def test_lstm_float32_matches_torch_float32():
    N, T, D, H = 4, 50, 16, 32
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H, batch_first=True)
    x = np.random.default_rng(0).standard_normal((N, T, D)).astype(np.float32)
    with torch.no_grad():
        out, _ = module(torch.from_numpy(x))
    Wx, Wh, b = (w.astype(np.float32) for w in rnnlab_weights(module))
    h, _ = lstm_forward(x, np.zeros((N, H), np.float32), Wx, Wh, b)
    assert rel_error(h, out.numpy()) < 1e-5


@pytest.mark.parametrize("N,T,D,H", [(3, 7, 5, 6), (1, 1, 4, 3), (8, 30, 16, 32)])
def test_gru_matches_torch(N, T, D, H):
    torch.manual_seed(T)
    module = torch.nn.GRU(D, H, batch_first=True).double()
    rng = np.random.default_rng(T)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    out, hT, tx, th0 = run_with_upstream(module, x, h0, dh, dhT)

    get = lambda name: getattr(module, name).detach().numpy()  # noqa: E731
    Wx, Wh = get("weight_ih_l0").T.copy(), get("weight_hh_l0").T.copy()
    b = np.stack([get("bias_ih_l0"), get("bias_hh_l0")])
    h, cache = gru_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = gru_backward(dh, cache, dh_final=dhT)
    grad = lambda name: getattr(module, name).grad.numpy()  # noqa: E731
    pairs = [("h", h, out.detach().numpy()), ("final_h", cache.final_h, hT[0].detach().numpy()),
             ("dx", dx, tx.grad.numpy()), ("dh0", dh0, th0.grad[0].numpy()),
             ("dWx", dWx, grad("weight_ih_l0").T), ("dWh", dWh, grad("weight_hh_l0").T),
             ("db", db, np.stack([grad("bias_ih_l0"), grad("bias_hh_l0")]))]
    for name, ours, theirs in pairs:
        assert rel_error(ours, theirs) < ORACLE_TOLERANCE, name


def test_activations_match_torch_in_float64():
    x = np.random.default_rng(0).standard_normal((5, 9)) * 10
    tx = torch.from_numpy(x)
    assert rel_error(sigmoid(x), torch.sigmoid(tx).numpy()) < 1e-15
    assert rel_error(softmax(x), torch.softmax(tx, -1).numpy()) < 1e-14
    assert rel_error(log_softmax(x), torch.log_softmax(tx, -1).numpy()) < 1e-14


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_at_extremes_match_torch(dtype):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    np.testing.assert_allclose(sigmoid(x), torch.sigmoid(torch.from_numpy(x)).numpy(), atol=2e-7, rtol=0)
    np.testing.assert_allclose(log_softmax(x), torch.log_softmax(torch.from_numpy(x), -1).numpy(), rtol=1e-6)


def test_temporal_softmax_loss_matches_torch(rng):
    N, T, V = 3, 7, 5
    x, y = rng.standard_normal((N, T, V)), rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3
    loss, dx = temporal_softmax_loss(x, y, mask)
    tx = torch.tensor(x, requires_grad=True)
    per_step = torch.nn.functional.cross_entropy(tx.reshape(-1, V), torch.from_numpy(y).reshape(-1),
                                                 reduction="none")
    torch_loss = (per_step * torch.from_numpy(mask.reshape(-1))).sum() / N
    torch_loss.backward()
    assert abs(loss - torch_loss.item()) < 1e-12
    assert rel_error(dx, tx.grad.numpy()) < 1e-12


@pytest.mark.parametrize("masked", [False, True])
def test_fused_softmax_loss_against_torch(rng, masked):
    N, T, V = 3, 5, 11
    x = rng.standard_normal((N, T, V)) * 3
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.3 if masked else None
    loss, dx = temporal_softmax_loss(x, y, mask)
    xt = torch.tensor(x, requires_grad=True)
    per_token = torch.nn.functional.cross_entropy(xt.reshape(-1, V), torch.tensor(y).reshape(-1),
                                                  reduction="none")
    weight = torch.ones(N * T, dtype=torch.float64) if mask is None else torch.tensor(mask.reshape(-1) * 1.0)
    expected = (per_token * weight).sum() / N
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-13)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    kept = x.copy()
    loss_in_place, dx_in_place = token_softmax_loss(kept, y, mask, overwrite=True)
    assert np.shares_memory(dx_in_place, kept)  # one (N*T, V) buffer: the scores' own
    loss_copy, dx_copy = token_softmax_loss(x, y, mask)
    assert loss_in_place == loss_copy and np.array_equal(dx_in_place, dx_copy)
    assert math.isfinite(temporal_softmax_loss(x * 1e4, y)[0])  # no overflow
