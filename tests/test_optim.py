"""Optimizers against torch.optim on the same gradients; global-norm clipping."""
import numpy as np
import pytest
import torch

from rnnlab.optim import Adam, clip_global_norm


def test_adam_matches_torch_for_20_steps():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 3)).astype(np.float32), "b": rng.standard_normal(3).astype(np.float32)}
    torch_params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours, theirs = Adam(learning_rate=0.01), torch.optim.Adam(torch_params.values(), lr=0.01)
    for _ in range(20):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
        ours.step(params, grads)
        for k, p in torch_params.items():
            p.grad = torch.from_numpy(grads[k].copy())
        theirs.step()
    for k in params:
        np.testing.assert_allclose(params[k], torch_params[k].detach().numpy(), rtol=0, atol=1e-6)
    assert ours.state["t"] == 20


def test_clip_global_norm_matches_torch():
    rng = np.random.default_rng(1)
    grads = {"a": rng.standard_normal((5, 4)) * 3, "b": rng.standard_normal(7) * 3}
    tensors = [torch.tensor(g.copy(), requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g.copy())
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, 2.0)
    norm = clip_global_norm(grads, 2.0)
    assert norm == pytest.approx(expected_norm.item(), rel=1e-12)
    for t, g in zip(tensors, grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6)
    small = {"a": np.array([0.3, 0.4])}
    assert clip_global_norm(small, 2.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small["a"], [0.3, 0.4])


def test_adam_rejects_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"learning_rate: expected a positive number, got 0"):
        Adam(learning_rate=0)
    with pytest.raises(ValueError, match=r"beta2: expected a number in \[0, 1\), got 1.0"):
        Adam(beta2=1.0)
