"""Models: whole-model gradient checks, sampling, decoding, summary."""
import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from cells import model_variants
from conftest import FD_TOLERANCE

from rnnlab.functional import mean_squared_error, softmax_loss, token_softmax_loss
from rnnlab.layers import LSTM, Bidirectional, Dense, Embedding, TimeDistributed
from rnnlab.models import (
    LanguageModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    Sequential,
    next_token_probabilities,
)
from rnnlab.testing import model_gradient_errors, rel_error


def randomize(model, rng, scale=0.4):
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape) * scale


def assert_loss_gradients(model, backprop, loss):
    """``backprop()`` fills the model's grads for the value ``loss()`` computes (forward
    only); every parameter's gradient must match central differences."""
    model.zero_grad()
    backprop()
    analytic = SimpleNamespace(params=model.params,
                               grads={k: g.copy() for k, g in model.grads.items()})
    errors = model_gradient_errors(analytic, loss)
    bad = {k: e for k, e in errors.items() if not e < FD_TOLERANCE}
    assert not bad, f"relative errors against finite differences: {bad}"
    return analytic.grads


def test_stacked_bidirectional_lstm_with_masks_gradients(rng):
    V = 9
    model = Sequential([Embedding(V, 4, mask_zero=True),
                        Bidirectional(LSTM(5, return_sequences=True), merge_mode="concat"),
                        Bidirectional(LSTM(3, return_sequences=True), merge_mode="sum"),
                        TimeDistributed(Dense(V))], input_shape=(None,), dtype="float64", seed=0)
    randomize(model, rng)
    ids = np.array([[3, 4, 5, 6, 7], [2, 8, 0, 0, 0], [1, 1, 1, 0, 0]])
    y = rng.integers(V, size=ids.shape)

    def loss():
        return token_softmax_loss(model.forward(ids), y, model.output_mask)

    assert_loss_gradients(model, lambda: model.backward(loss()[1]), lambda: loss()[0])
    np.testing.assert_array_equal(model.output_mask, ids != 0)


@pytest.mark.parametrize("bidirectional,cell", [(True, "lstm"), (False, "gru")])
def test_seq2seq_gradients_reach_the_encoder(rng, bidirectional, cell):
    model = Seq2Seq(7, 8, embedding_dim=3, hidden_size=4, cell=cell, bidirectional=bidirectional,
                    dtype="float64", seed=0)
    randomize(model, rng)
    source = np.array([[3, 4, 5, 6], [5, 3, 0, 0]])
    target = np.array([[1, 4, 5, 2, 0], [1, 7, 3, 6, 2]])

    def loss():
        scores = model.forward(source, target[:, :-1])
        return token_softmax_loss(scores, target[:, 1:], target[:, 1:] != 0)[0]

    grads = assert_loss_gradients(model, lambda: model.loss(source, target), loss)
    assert np.abs(grads["source_embedding/W"][[3, 4, 5, 6]]).min() > 0
    assert not grads["source_embedding/W"][[0, 1, 2]].any()  # unused ids, padding


@pytest.mark.parametrize("cell,options", model_variants())
def test_language_model_gradients(rng, cell, options):
    model = LanguageModel(11, embedding_dim=4, hidden_size=6, num_layers=2, cell=cell,
                          dtype="float64", seed=0, **options)
    randomize(model, rng)
    x, y = rng.integers(11, size=(3, 6)), rng.integers(11, size=(3, 6))
    assert_loss_gradients(model, lambda: model.loss(x, y), lambda: model.evaluate(x, y))


def test_classifier_and_generator_gradients(rng):
    clf = SequenceClassifier(3, vocab_size=8, embedding_dim=4, hidden_size=5, num_layers=2,
                             bidirectional=True, dtype="float64", seed=0)
    ids, labels = np.array([[3, 4, 5], [6, 0, 0]]), np.array([2, 0])
    clf.forward(ids)
    randomize(clf, rng)
    assert_loss_gradients(clf, lambda: clf.loss(ids, labels),
                          lambda: softmax_loss(clf.forward(ids), labels)[0])
    gen = SequenceGenerator(2, steps=4, hidden_size=5, cell="gru", dtype="float64", seed=0)
    x, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 4, 2))
    gen.forward(x)
    randomize(gen, rng)
    assert_loss_gradients(gen, lambda: gen.loss(x, target),
                          lambda: mean_squared_error(gen.forward(x), target)[0])


def test_language_model_loss_is_nats_per_token_and_state_carries(rng):
    model = LanguageModel(5, embedding_dim=3, hidden_size=4, num_layers=1, dtype="float64",
                          stateful=True, seed=0)
    x, y = rng.integers(5, size=(2, 8)), rng.integers(5, size=(2, 8))
    whole = model.evaluate(x, y)
    model.reset_states()
    halves = (model.evaluate(x[:, :4], y[:, :4]) + model.evaluate(x[:, 4:], y[:, 4:])) / 2
    model.reset_states()
    first = model.loss(x[:, :4], y[:, :4])
    second = model.loss(x[:, 4:], y[:, 4:])
    assert abs((first + second) / 2 - whole) < 1e-12
    assert abs(halves - whole) < 1e-12
    model.reset_states()
    unconnected = model.evaluate(x[:, 4:], y[:, 4:])
    assert abs(unconnected - (2 * whole - first)) > 1e-6  # the carried state mattered
    scores = model.forward(x[:, :1])
    assert scores.shape == (2, 1, 5)


def test_sampling_is_reproducible_and_respects_its_options(rng):
    model = LanguageModel(20, embedding_dim=4, hidden_size=8, num_layers=1, seed=0)
    randomize(model, rng, scale=1.0)
    a = model.sample(30, prime=[1, 2, 3], seed=7)
    assert a == model.sample(30, prime=[1, 2, 3], seed=7)
    assert a != model.sample(30, prime=[1, 2, 3], seed=8)
    greedy = model.sample(10, prime=[4], temperature=0)
    assert greedy == model.sample(10, prime=[4], temperature=0, seed=99)
    with model.inference():
        scores, states = model.forward_from(np.array([[4]]), None)
    assert greedy[0] == scores[0, -1].argmax()
    top1 = model.sample(10, prime=[4], top_k=1, seed=3)
    assert top1 == greedy


def test_next_token_probabilities_top_k_and_top_p():
    scores = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    np.testing.assert_allclose(next_token_probabilities(scores), [[0.5, 0.3, 0.15, 0.05]])
    np.testing.assert_allclose(next_token_probabilities(scores, top_k=2), [[0.625, 0.375, 0, 0]])
    np.testing.assert_allclose(next_token_probabilities(scores, top_p=0.75), [[0.625, 0.375, 0, 0]])
    np.testing.assert_allclose(next_token_probabilities(scores, top_p=0.85),
                               [[0.5, 0.3, 0.15, 0]] / np.float64(0.95))
    hot = next_token_probabilities(scores, temperature=0.5)
    np.testing.assert_allclose(hot, [[0.25, 0.09, 0.0225, 0.0025]] / np.float64(0.365))
    with pytest.raises(ValueError, match=r"top_p: expected a number in \(0, 1\] or None, got 1.5"):
        next_token_probabilities(scores, top_p=1.5)


def test_sampled_frequencies_follow_the_probabilities():
    from rnnlab.models import sample_next
    scores = np.log(np.tile([[0.6, 0.3, 0.1]], (20000, 1)))
    draws = sample_next(scores, np.random.default_rng(0))
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.6, 0.3, 0.1], atol=0.015)


def _sequence_logp(model, source, tokens):
    """log p(tokens | source) by teacher forcing (tokens end with end_id or run to the limit)."""
    with model.inference():
        states = model.encode(source[None])
        total, last = 0.0, model.start_id
        for token in tokens:
            logp, states = model.decode_step(np.array([last]), states)
            total += logp[0, token]
            last = token
    return total


def test_beam_search_is_exact_with_a_wide_beam_and_greedy_with_width_one(rng):
    V, max_length = 5, 3  # ids 0 pad, 1 start, 2 end, 3 and 4 words
    model = Seq2Seq(6, V, embedding_dim=3, hidden_size=4, dtype="float64", seed=0)
    randomize(model, rng, scale=1.5)
    source = np.array([3, 4, 5])
    candidates = []
    for length in range(1, max_length + 1):
        for words in itertools.product([3, 4], repeat=length - 1):
            candidates.append(list(words) + [2])  # ends with end
        candidates += [list(w) for w in itertools.product([3, 4], repeat=max_length)
                       if length == max_length]
    best = max(candidates, key=lambda c: _sequence_logp(model, source, c))
    expected = best[:-1] if best[-1] == 2 else best
    found = model.beam_search(source[None], beam_width=50, max_length=max_length, length_penalty=0)
    assert found == [expected]
    assert model.beam_search(source[None], beam_width=1, max_length=max_length) == \
        model.greedy(source[None], max_length=max_length)


def test_summary_lists_layers_shapes_and_counts():
    model = Sequential([Embedding(50, 8), LSTM(16, return_sequences=True), LSTM(16),
                        Dense(3)], input_shape=(None,))
    lines = []
    text = model.summary(print_fn=lines.append)
    assert lines == [text]
    assert " embedding (Embedding)" in text and " lstm_1 (LSTM)" in text
    assert "(None, None, 16)" in text and "(None, 3)" in text
    assert f"Total params: {50 * 8 + 4 * 16 * (8 + 16 + 1) + 4 * 16 * 33 + 51:,}" in text
    with pytest.raises(ValueError, match=r"summary: the model is not built yet"):
        Sequential([LSTM(3)]).summary()


def test_sequential_casts_floating_inputs_to_its_dtype(rng):
    model = Sequential([LSTM(4, return_sequences=True), Dense(2)], seed=0)
    y = model.forward(rng.standard_normal((2, 3, 5)))  # float64 in, a float32 model
    assert y.dtype == np.float32 and model.params["lstm/Wx"].dtype == np.float32


@pytest.mark.parametrize("cell,options", model_variants())
def test_the_lean_stepper_equals_the_sequence_forward(rng, cell, options):
    model = LanguageModel(9, embedding_dim=4, hidden_size=6, num_layers=2, cell=cell,
                          dtype="float64", seed=0, **options)
    randomize(model, rng)
    ids = rng.integers(9, size=(3, 5))
    with model.inference():
        scores, _ = model.forward_from(ids, None)
        step, states = model.stepper(3, start=1), model.forward_from(ids[:, :1], None)[1]
        for t in range(1, 5):
            step_scores, states = step(ids[:, t], states)
            np.testing.assert_allclose(step_scores, scores[:, t], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_inference_without_caches_gives_the_same_numbers(rng, monkeypatch, go_backwards):
    """caches=False: the LSTM layers run lstm_inference (a stretch of 2 steps here); the
    scores, final states and loss are those of the cached forward. A mask (padding) keeps
    the cached path; a backward after a forward without a cache is refused."""
    from rnnlab.functional import lstm

    monkeypatch.setattr(lstm, "INFERENCE_STRETCH", 2 * 3 * 4 * 8)
    monkeypatch.setattr(lstm, "PROJECTION_ROWS", 1)
    model = Sequential([Embedding(11, 5), LSTM(8, return_sequences=True, go_backwards=go_backwards),
                        LSTM(8, return_sequences=True, layer_norm=True), TimeDistributed(Dense(11))],
                       seed=0)
    randomize(model, rng)
    x = rng.integers(0, 11, (3, 7))
    with model.inference():
        want = model.forward(x)
        want_finals = [layer.final_states for layer in model.layers[1:3]]
    calls = []
    monkeypatch.setattr(lstm, "_final_states", lambda cache: calls.append(1) or (
        cache.h[1:], cache.final_h, cache.final_c))
    with model.inference(caches=False):
        got = model.forward(x)
        got_finals = [layer.final_states for layer in model.layers[1:3]]
        assert [layer.last_cache for layer in model.layers[1:3]] == [None, None]
        with pytest.raises(RuntimeError, match="backward after a forward that kept no cache"):
            model.backward(np.ones_like(got))
        masked = model.forward(x, mask=np.arange(7) < np.array([[7], [4], [2]]))
    assert calls  # the layer-norm LSTM ran the general steps in stretches
    assert rel_error(got, want) < 1e-6  # float32; the stretches' GEMMs may round apart
    for got_states, want_states in zip(got_finals, want_finals):
        assert all(rel_error(a, b) < 1e-6 for a, b in zip(got_states, want_states))
    assert all(layer.caching for layer in model.layers[1:3])  # restored
    assert model.layers[1].last_cache is not None  # the masked forward kept its cache
    assert masked.shape == got.shape
