"""rnnlab against PyTorch autograd on identical weights, float64: outputs, final
states and every gradient agree to 1e-10."""
import numpy as np
import pytest
import torch
from torch_oracle import rnnlab_weights, run_with_upstream, tensor, torch_gradients

from rnnlab.functional import lstm_backward, lstm_forward, rnn_backward, rnn_forward
from rnnlab.testing import rel_error

ORACLE_TOLERANCE = 1e-10
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

