"""Layers: finite-difference checks of every layer and option, masks, stateful, errors."""
from types import SimpleNamespace

import numpy as np
import pytest
from cells import defaults, layer_factories
from conftest import FD_TOLERANCE

from rnnlab.layers import (
    GRU,
    LSTM,
    Bidirectional,
    ClockworkRNN,
    Dense,
    Dropout,
    Embedding,
    RepeatVector,
    SimpleRNN,
    TimeDistributed,
)
from rnnlab.testing import model_gradient_errors, numerical_gradient, rel_error

N, T, D = 3, 5, 4

RECURRENT = layer_factories()  # every registered cell and its variants (tests/cells.py)

LEFT_AND_RIGHT_PADDED = np.array([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [1, 1, 0, 0, 0]], bool)


def built(layer, rng, shape=(T, D)):
    """The layer built in float64, every parameter random (peepholes, gates included)."""
    layer.build(shape, np.float64, np.random.default_rng(0))
    for p in layer.walk():
        for value in p.params.values():
            value[...] = rng.standard_normal(value.shape) * 0.4
    return layer


def as_model(layer):
    return SimpleNamespace(params=layer.named_params(), grads=layer.named_grads())


def check_layer(layer, x, rng, **forward_kwargs):
    """FD-check dx, every initial state and every parameter of a layer whose forward
    returns an array or a tuple (out, states...), with random upstream gradients."""
    def run():
        out = layer.forward(x, **forward_kwargs)
        return out if isinstance(out, tuple) else (out,)

    outs = run()
    douts = tuple(rng.standard_normal(o.shape) for o in outs)
    layer.zero_grad()
    dx = layer.backward(douts if isinstance(layer.forward(x, **forward_kwargs), tuple) else douts[0])
    loss = lambda: sum(float((o * d).sum()) for o, d in zip(run(), douts))  # noqa: E731
    errors = model_gradient_errors(as_model(layer), loss)
    errors["x"] = rel_error(numerical_gradient(lambda _: run(), x, douts), dx)
    for k, s in enumerate(forward_kwargs.get("initial_state") or ()):
        errors[f"initial_state[{k}]"] = rel_error(numerical_gradient(lambda _: run(), s, douts),
                                                  layer.dinitial_state[k])
    bad = {k: e for k, e in errors.items() if not e < FD_TOLERANCE}
    assert not bad, f"relative errors against finite differences: {bad}"


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("return_sequences,go_backwards,mask", [
    (True, False, None), (False, True, None), (True, True, LEFT_AND_RIGHT_PADDED),
    (False, False, LEFT_AND_RIGHT_PADDED)])
def test_recurrent_layer_gradients(rng, kind, return_sequences, go_backwards, mask):
    layer = built(RECURRENT[kind](return_sequences=return_sequences, return_state=True,
                                  go_backwards=go_backwards), rng)
    x = rng.standard_normal((N, T, D))
    init = [rng.standard_normal((N, s)) for s in layer.state_sizes]
    check_layer(layer, x, rng, mask=mask, initial_state=init)


@pytest.mark.parametrize("kind", list(defaults()))
def test_recurrent_dropout_gradients_with_fixed_masks(rng, kind):
    layer = built(defaults()[kind](return_sequences=True, dropout=0.3, recurrent_dropout=0.4), rng)
    forward = layer.forward

    def forward_with_fixed_masks(x, **kw):
        layer.rng = np.random.default_rng(5)  # the same dropout masks at every call
        return forward(x, **kw)

    layer.forward = forward_with_fixed_masks
    x = rng.standard_normal((N, T, D))
    check_layer(layer, x, rng, mask=LEFT_AND_RIGHT_PADDED)
    layer.set_training(False)  # inference: no dropout, the same as rates of zero
    inference = layer.forward(x)
    rates = layer.dropout, layer.recurrent_dropout
    layer.dropout = layer.recurrent_dropout = 0.0
    layer.set_training(True)
    np.testing.assert_array_equal(layer.forward(x), inference)
    layer.dropout, layer.recurrent_dropout = rates
    assert not np.allclose(layer.forward(x), inference)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_gradients(rng, merge_mode, return_sequences):
    layer = built(Bidirectional(LSTM(4, return_sequences=return_sequences, return_state=True),
                                merge_mode=merge_mode), rng)
    x = rng.standard_normal((N, T, D))
    init = [rng.standard_normal((N, 4)) for _ in range(4)]
    check_layer(layer, x, rng, lengths=np.array([5, 2, 0]), initial_state=init)


def test_bidirectional_without_merge_returns_both_directions(rng):
    layer = built(Bidirectional(GRU(4, return_sequences=True), merge_mode=None), rng)
    x = rng.standard_normal((N, T, D))
    y_f, y_b = layer.forward(x)
    forward_only = layer.forward_layer.forward(x)
    np.testing.assert_array_equal(y_f, forward_only)
    backward_only = layer.backward_layer.forward(x)  # go_backwards: outputs read backwards
    np.testing.assert_array_equal(y_b, backward_only[:, ::-1])


@pytest.mark.parametrize("layer_and_shape", [
    (lambda: Dense(3, activation="tanh"), (N, D)),
    (lambda: Dense(3, activation="sigmoid"), (N, T, D)),
    (lambda: Dense(3, activation="relu", use_bias=False), (N, D)),
    (lambda: TimeDistributed(Dense(3, activation="tanh")), (N, T, D)),
    (lambda: RepeatVector(4), (N, D)),
])
def test_feedforward_layer_gradients(rng, layer_and_shape):
    make, shape = layer_and_shape
    layer = built(make(), rng, shape[1:])
    x = rng.standard_normal(shape) + 0.1  # keep relu inputs away from the kink
    check_layer(layer, x, rng)


def test_dropout_gradient_and_modes(rng):
    layer = Dropout(0.5)
    x = rng.standard_normal((200, 50))
    y = layer.forward(x)
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2 * x[kept])
    dy = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(dy), dy * 2 * kept)
    layer.set_training(False)
    assert layer.forward(x) is x


def test_embedding_gradient_and_mask(rng):
    layer = Embedding(7, 3, mask_zero=True)
    layer.build((T,), np.float64)
    ids = np.array([[1, 2, 2, 0, 0], [6, 5, 4, 3, 0]])
    y = layer.forward(ids)
    np.testing.assert_array_equal(y, layer.params["W"][ids])
    np.testing.assert_array_equal(layer.output_mask(None), ids != 0)
    dy = rng.standard_normal(y.shape)
    layer.backward(dy)
    expected = np.zeros((7, 3))
    np.add.at(expected, ids, dy)
    np.testing.assert_allclose(layer.grads["W"], expected)


def test_left_padding_equals_right_padding(rng):
    layer = built(LSTM(6, return_sequences=True, return_state=True), rng)
    x = rng.standard_normal((2, T, D))
    left = x.copy()
    left[1] = np.concatenate([rng.standard_normal((2, D)), x[1, :3]])  # junk, then 3 steps
    out_r, h_r, c_r = layer.forward(x, lengths=np.array([5, 3]))
    out_l, h_l, c_l = layer.forward(left, mask=np.array([[1] * 5, [0, 0, 1, 1, 1]]))
    np.testing.assert_allclose(out_l[1, 2:], out_r[1, :3], rtol=1e-13)
    assert not out_l[1, :2].any() and not out_r[1, 3:].any()
    np.testing.assert_allclose(h_l, h_r, rtol=1e-13)
    np.testing.assert_allclose(c_l, c_r, rtol=1e-13)


def test_padded_steps_do_not_matter_and_empty_sequences_keep_their_state(rng):
    layer = built(GRU(6, return_sequences=True, return_state=True), rng)
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, 6))
    lengths = np.array([5, 2, 0])
    out, h = layer.forward(x, lengths=lengths, initial_state=[h0])
    junk = x.copy()
    junk[1, 2:] = 1e3
    junk[2] = -1e3
    out_junk, h_junk = layer.forward(junk, lengths=lengths, initial_state=[h0])
    np.testing.assert_array_equal(out, out_junk)
    np.testing.assert_array_equal(h, h_junk)
    np.testing.assert_array_equal(h[2], h0[2])
    assert not out[2].any()
    single, h_single = layer.forward(x[1:2, :2], initial_state=[h0[1:2]])
    np.testing.assert_allclose(h[1], h_single[0], rtol=1e-13)


def test_go_backwards_reads_the_reversed_sequence(rng):
    backward = built(SimpleRNN(6, return_sequences=True, go_backwards=True), rng)
    forward = SimpleRNN(6, return_sequences=True)
    forward.build((T, D), np.float64)
    for name in forward.params:
        forward.params[name][...] = backward.params[name]
    x = rng.standard_normal((N, T, D))
    np.testing.assert_array_equal(backward.forward(x), forward.forward(x[:, ::-1]))


@pytest.mark.parametrize("kind", list(RECURRENT))
def test_stateful_batches_equal_one_long_batch(rng, kind):
    long = built(RECURRENT[kind](return_sequences=True, return_state=True), rng)
    stateful = RECURRENT[kind](return_sequences=True, return_state=True, stateful=True)
    stateful.build((T, D), np.float64)
    for name in stateful.params:
        stateful.params[name][...] = long.params[name]
    x = rng.standard_normal((N, 2 * T, D))
    out, *finals = long.forward(x)
    first, *_ = stateful.forward(x[:, :T])
    second, *finals_2 = stateful.forward(x[:, T:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), out, rtol=1e-12, atol=1e-14)
    for a, b in zip(finals, finals_2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    stateful.reset_states()
    np.testing.assert_array_equal(stateful.forward(x[:, :T])[0], first)


def test_embedding_initialisers():
    normal, uniform = Embedding(50, 400), Embedding(50, 400, initializer="uniform")
    for layer in (normal, uniform):
        layer.build((None,), np.float64, np.random.default_rng(0))
    assert abs(normal.params["W"].std() - 1) < 0.02
    assert np.abs(uniform.params["W"]).max() <= 0.05
    with pytest.raises(ValueError, match=r"initializer: expected one of \['normal', 'uniform'\], got 'ones'"):
        Embedding(5, 2, initializer="ones")


def test_keras_initialisers():
    layer = LSTM(8)
    layer.build((None, 5), np.float64, np.random.default_rng(0))
    Wh = layer.params["Wh"]  # (H, 4H): orthonormal rows
    np.testing.assert_allclose(Wh @ Wh.T, np.eye(8), atol=1e-12)
    limit = np.sqrt(6 / (5 + 32))
    assert np.abs(layer.params["Wx"]).max() <= limit
    np.testing.assert_array_equal(layer.params["b"], np.r_[np.zeros(8), np.ones(8), np.zeros(16)])


@pytest.mark.parametrize("call,message", [
    (lambda: LSTM(4).forward(np.zeros((2, 3))), r"x: expected an array of shape \(N, T, D\), got shape \(2, 3\)"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 6))), r"x: expected shape \(N, T, D\) = \(2, 3, 5\), got \(2, 3, 6\)"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 5), np.float32)), r"x: expected dtype float64"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 5)), mask=np.ones((2, 4))), r"mask: expected shape \(N, T\) = \(2, 3\), got \(2, 4\)"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 5)), mask=np.array([[1, 0, 1], [1, 1, 1]])), r"mask: .* row 0 has a gap"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 5)), lengths=np.array([4, 1])), r"lengths: expected values in \[0, T\] = \[0, 3\], got 1..4"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 4))]), r"initial_state: expected 2 arrays \(h, c\), got 1"),
    (lambda: _built_lstm().forward(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 4)), np.zeros((2, 3))]), r"initial_state\[1\] \(c\): expected shape \(N, 4\) = \(2, 4\), got \(2, 3\)"),
    (lambda: Embedding(5, 2).forward(np.array([[1, 5]])), r"ids: ids must lie in \[0, 5\), got id 5"),
    (lambda: Embedding(5, 2).forward(np.array([[0.5]])), r"ids: expected integer ids, got dtype float64"),
    (lambda: Bidirectional(LSTM(3), merge_mode="max"), r"merge_mode: expected one of \('concat', 'sum', 'ave', 'mul', None\), got 'max'"),
    (lambda: Bidirectional(Dense(3)), r"layer: expected a recurrent layer, got Dense"),
    (lambda: LSTM(0), r"units: expected a positive integer, got 0"),
    (lambda: LSTM(3, dropout=1.0), r"dropout: expected a fraction in \[0, 1\), got 1.0"),
    (lambda: LSTM(3, peepholes="x"), r"peepholes: expected keys among \('i', 'f', 'o'\), got \['x'\]"),
    (lambda: Dense(3, activation="swish"), r"activation: expected None or one of"),
    (lambda: ClockworkRNN(6, periods=(1, 2, 4, 8)), r"periods: H = 6 must split into 4 equal modules"),
])
def test_bad_input_gets_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_stateful_batch_size_change_is_named():
    layer = LSTM(3, stateful=True)
    layer.forward(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"stateful layer keeps the batch size, expected N = 2, got 3"):
        layer.forward(np.zeros((3, 4, 5), np.float32))


def _built_lstm():
    layer = LSTM(4)
    layer.build((None, 5), np.float64)
    return layer
