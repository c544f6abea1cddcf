"""What word-level language modelling adds (Zaremba et al. 2014; Press & Wolf 2017):
tied embeddings, uniform initialisation, embedding dropout, the loss summed over time,
per-epoch decay after k epochs (the fused softmax cross-entropy against PyTorch:
tests/test_torch_crosscheck.py)."""

import numpy as np
import pytest
from test_models import assert_loss_gradients, randomize

from rnnlab.layers import Dropout, TiedDense
from rnnlab.models import LanguageModel, model_from_config
from rnnlab.optim import ExponentialDecay, clip_global_norm, schedule_from_state
from rnnlab.train import Solver


def test_tied_weights_gradients_match_finite_differences(rng):
    """E receives its input gradient and its output gradient, and is one parameter."""
    model = LanguageModel(9, embedding_dim=5, hidden_size=5, num_layers=2, dtype="float64",
                          tie_weights=True, seed=0)
    assert isinstance(model.layers[-1].layer, TiedDense)
    assert sum(p.shape == (9, 5) for p in model.params.values()) == 1  # no separate output W
    randomize(model, rng)
    x, y = rng.integers(9, size=(3, 6)), rng.integers(9, size=(3, 6))
    assert_loss_gradients(model, lambda: model.loss(x, y), lambda: model.evaluate(x, y))


def test_tied_weights_score_with_the_embedding_matrix(rng):
    model = LanguageModel(9, embedding_dim=5, hidden_size=5, num_layers=1, dtype="float64",
                          tie_weights=True, seed=0)
    E = model.layers[0].params["W"]
    h = rng.standard_normal((2, 3, 5))
    np.testing.assert_allclose(model.layers[-1].forward(h), h @ E.T + model.layers[-1].layer.params["b"])
    rebuilt = model_from_config("LanguageModel", model.config)
    assert isinstance(rebuilt.layers[-1].layer, TiedDense)
    with pytest.raises(ValueError, match="tied weights: the layer below gives 6 features"):
        LanguageModel(9, embedding_dim=5, hidden_size=6, num_layers=1, tie_weights=True)


def test_init_scale_draws_every_weight_uniformly():
    a = LanguageModel(50, embedding_dim=8, hidden_size=8, seed=3, init_scale=0.1)
    b = LanguageModel(50, embedding_dim=8, hidden_size=8, seed=3, init_scale=0.1)
    for name, p in a.params.items():
        assert np.abs(p).max() <= 0.1 and np.abs(p).max() > 0.05, name  # biases too
        np.testing.assert_array_equal(p, b.params[name])
    with pytest.raises(ValueError, match="init_scale"):
        LanguageModel(50, init_scale=0)


def test_embedding_dropout_drops_the_embedding_output():
    model = LanguageModel(50, embedding_dim=8, hidden_size=8, num_layers=2, dropout=0.5,
                          embedding_dropout=0.5)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Embedding", "Dropout", "LSTM", "Dropout", "LSTM", "Dropout", "TimeDistributed"]
    assert isinstance(model.layers[1], Dropout) and model.layers[1].rate == 0.5


def test_exponential_decay_after_constant_epochs():
    schedule = ExponentialDecay(0.5, constant_epochs=4)  # Zaremba et al.: lr 1 for 4 epochs
    assert [schedule(0, epoch) for epoch in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]
    assert [ExponentialDecay(0.9)(0, e) for e in range(3)] == [1, 0.9, 0.9**2]
    assert schedule_from_state(schedule.state())(0, 5) == 0.25
    with pytest.raises(ValueError, match="constant_epochs"):
        ExponentialDecay(0.5, constant_epochs=0)


def test_loss_summed_over_time_scales_the_gradient_by_T(rng):
    """One SGD step on the loss summed over T = 7 steps equals one with a 7x learning
    rate on the per-token mean (no clipping); with clipping, the summed gradient is
    what is clipped."""
    ids = rng.integers(20, size=2 * 7 * 3 + 1)

    def one_step(lr, summed, clip=None):
        model = LanguageModel(20, embedding_dim=4, hidden_size=6, num_layers=1, dtype="float64",
                              stateful=True, seed=0)
        solver = Solver(model, {"train": ids}, batch_size=2, seq_length=7, optimizer="sgd",
                        learning_rate=lr, grad_clip=clip, max_iterations=1,
                        loss_sum_over_time=summed, verbose=False)
        solver.train()
        return model.params, solver

    summed, _ = one_step(0.1, True)
    scaled, _ = one_step(0.7, False)
    for name in summed:
        np.testing.assert_allclose(summed[name], scaled[name], rtol=1e-12, atol=1e-14)
    # clipped to the same tiny norm, the summed (T times larger) and the mean gradient
    # give the same step: the clip acts on the summed gradient, after the scaling
    clipped_summed, _ = one_step(0.1, True, clip=1e-3)
    clipped_mean, _ = one_step(0.1, False, clip=1e-3)
    unclipped, _ = one_step(0.1, False)
    for name in clipped_summed:
        np.testing.assert_allclose(clipped_summed[name], clipped_mean[name], rtol=1e-10, atol=1e-15)
    assert any(not np.allclose(clipped_mean[name], unclipped[name]) for name in unclipped)
    grads = {"a": np.array([3.0, 4.0])}
    assert clip_global_norm(grads, 20.0, scale=7.0) == pytest.approx(35.0)
    np.testing.assert_allclose(grads["a"], np.array([3.0, 4.0]) * 7 * 20 / 35)
