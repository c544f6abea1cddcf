"""Optimizers, schedules and clipping against torch.optim and its schedulers on the same
gradients (state round trips and argument checks: tests/test_optim_state.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.optim import (  # noqa: E402
    SGD,
    Adam,
    AdamW,
    Cosine,
    ExponentialDecay,
    ReduceOnPlateau,
    RMSprop,
    StepDecay,
    Warmup,
    clip_global_norm,
    schedule_from_state,
)

pytestmark = pytest.mark.oracle
OPTIMIZER_PAIRS = {
    "sgd": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum": (lambda: SGD(0.05, momentum=0.9, weight_decay=0.01),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01)),
    "nesterov": (lambda: SGD(0.05, momentum=0.8, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    "rmsprop": (lambda: RMSprop(0.01, alpha=0.9, weight_decay=0.001),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.001)),
    "adam": (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_l2": (lambda: Adam(0.01, weight_decay=0.1), lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("kind", list(OPTIMIZER_PAIRS))
def test_optimizer_matches_torch_for_20_steps(kind):
    make_ours, make_theirs = OPTIMIZER_PAIRS[kind]
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 3)).astype(np.float32),
              "b": rng.standard_normal(3).astype(np.float32)}
    torch_params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours, theirs = make_ours(), make_theirs(torch_params.values())
    for _ in range(20):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
        ours.step(params, grads)
        for k, p in torch_params.items():
            p.grad = torch.from_numpy(grads[k].copy())
        theirs.step()
    for k in params:
        np.testing.assert_allclose(params[k], torch_params[k].detach().numpy(), rtol=0, atol=1e-6)
    assert ours.state["step"] == 20


def torch_factors(make_scheduler, epochs, per_iteration, iterations_per_epoch=3, metrics=None):
    """The learning-rate factors torch's scheduler gives at each update."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make_scheduler(opt)
    factors = []
    for epoch in range(epochs):
        for _ in range(iterations_per_epoch):
            factors.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_iteration:
                sched.step()
        if not per_iteration:
            sched.step(metrics[epoch]) if metrics else sched.step()
    return factors


def our_factors(schedule, epochs, iterations_per_epoch=3, metrics=None):
    factors, iteration = [], 0
    for epoch in range(epochs):
        for _ in range(iterations_per_epoch):
            factors.append(schedule(iteration, epoch))
            iteration += 1
        if metrics:
            schedule.observe(metrics[epoch])
    return factors


@pytest.mark.parametrize("ours,theirs,per_iteration", [
    (lambda: ExponentialDecay(0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), False),
    (lambda: StepDecay(2, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5), False),
    (lambda: Cosine(18, 0.1), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 18, eta_min=0.1), True),
    (lambda: Warmup(5), lambda o: torch.optim.lr_scheduler.LinearLR(o, 1 / 5, 1.0, total_iters=4), True),
])
def test_schedules_match_torch(ours, theirs, per_iteration):
    np.testing.assert_allclose(our_factors(ours(), 6), torch_factors(theirs, 6, per_iteration),
                               rtol=1e-12)


def test_reduce_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.92, 0.91, 0.9, 0.5, 0.6, 0.7, 0.8]
    ours = ReduceOnPlateau(factor=0.5, patience=1)
    theirs = lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1)  # noqa: E731
    np.testing.assert_allclose(our_factors(ours, 10, metrics=metrics),
                               torch_factors(theirs, 10, False, metrics=metrics), rtol=1e-12)
    restored = schedule_from_state(ours.state())
    assert restored.state() == ours.state()


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
