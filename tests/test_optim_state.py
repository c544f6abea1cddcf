"""Optimizer and schedule state that round-trips, the cosine floor, and the argument
checks of every optimizer and schedule."""
import numpy as np
import pytest

from rnnlab.optim import (
    SGD,
    Adam,
    Cosine,
    ExponentialDecay,
    Warmup,
    make_optimizer,
    optimizer_from_hyperparameters,
    schedule_from_state,
)


def test_optimizer_state_round_trips():
    rng = np.random.default_rng(1)
    params = {"W": rng.standard_normal((3, 2))}
    grads = {"W": rng.standard_normal((3, 2))}
    first = Adam(0.01, beta1=0.8)
    first.step(params, grads)
    second = optimizer_from_hyperparameters(first.hyperparameters())
    second.load_state_arrays({k: v.copy() for k, v in first.state_arrays().items()},
                             first.state["step"])
    a, b = params["W"].copy(), params["W"].copy()
    first.step({"W": a}, grads)
    second.step({"W": b}, grads)
    np.testing.assert_array_equal(a, b)
    assert sorted(first.state_arrays()) == ["m/W", "v/W"]


def test_cosine_stays_at_its_floor_after_the_last_iteration():
    assert Cosine(10, 0.1)(25, 0) == pytest.approx(0.1)  # torch's cosine would rise again


def test_warmup_composes_and_round_trips():
    schedule = Warmup(4, then=Cosine(10))
    assert schedule(0, 0) == pytest.approx(0.25 * Cosine(10)(0, 0))
    assert schedule_from_state(schedule.state())(7, 0) == schedule(7, 0)


@pytest.mark.parametrize("call,message", [
    (lambda: Adam(learning_rate=0), r"learning_rate: expected a positive number, got 0"),
    (lambda: Adam(beta2=1.0), r"beta2: expected a number in \[0, 1\), got 1.0"),
    (lambda: SGD(0.1, nesterov=True), r"nesterov: needs a momentum > 0"),
    (lambda: make_optimizer("adagrad", 0.1), r"optimizer: expected one of .* got 'adagrad'"),
    (lambda: ExponentialDecay(1.5), r"learning_rate_decay: expected a number in \(0, 1\], got 1.5"),
])
def test_bad_hyperparameters_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
