"""Property-based tests (hypothesis) of the public doors: for any shapes (0 included),
dtypes, NaN/inf values and memory layouts, a cell gives a defined result or one clear
ValueError, never another exception."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab import functional as F
from rnnlab.models.stack import CELLS

DTYPES = ["float32", "float64", "float16", "int64"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arrays(draw, shape, dtype):
    """An array of ``shape`` whose values may be NaN or inf, maybe a non-contiguous view."""
    values = draw(st.sampled_from(["normal", "nan", "inf", "huge"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    a = rng.standard_normal(shape)
    if values != "normal" and a.size:
        a.flat[draw(st.integers(0, a.size - 1))] = {"nan": np.nan, "inf": np.inf, "huge": 1e4}[values]
    if np.dtype(dtype).kind == "i":
        a = np.nan_to_num(a, nan=0, posinf=0, neginf=0).round()
    a = a.astype(dtype)
    if draw(st.booleans()) and a.ndim >= 1:  # the same values in a strided view
        b = np.repeat(a, 2, axis=-1)
        a = b[..., ::2]
        assert not a.flags.c_contiguous or a.size <= 1
    return a


@st.composite
def cell_inputs(draw, gates, step=False):
    N, T, D, H = (draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(1, 3)),
                  draw(st.integers(1, 3)))
    dtype = draw(st.sampled_from(DTYPES))
    same = draw(st.booleans())  # all arrays one dtype, or each its own
    pick = (lambda: dtype) if same else (lambda: draw(st.sampled_from(DTYPES)))
    x = draw(arrays((N, D) if step else (N, T, D), pick()))
    h0 = draw(arrays((N, H), pick()))
    Wx = draw(arrays((D, gates * H), pick()))
    Wh = draw(arrays((H, gates * H), pick()))
    b = draw(arrays((gates * H,), pick()))
    if draw(st.integers(0, 9)) == 0:  # now and then a shape that does not fit
        Wh = Wh[:, :-1]
    return x, h0, Wx, Wh, b


def defined_or_value_error(call, check):
    """``call()`` returns a result that ``check`` accepts, or raises one ValueError
    whose message is one line."""
    with np.errstate(all="ignore"):
        try:
            result = call()
        except ValueError as error:
            assert str(error) and "\n" not in str(error)
            return None
    check(result)
    return result


def _sequence_check(x, H):
    N, T = x.shape[:2]

    def check(result):
        h, cache = result
        assert h.shape == (N, T, H)
    return check


@pytest.mark.parametrize("forward,backward,gates", [
    (F.rnn_forward, F.rnn_backward, 1), (F.lstm_forward, F.lstm_backward, 4),
    (F.gru_forward, F.gru_backward, 3)])
@SETTINGS
@given(data=st.data())
def test_sequence_functions_give_a_result_or_one_clear_error(forward, backward, gates, data):
    x, h0, Wx, Wh, b = data.draw(cell_inputs(gates))
    H = h0.shape[1]
    result = defined_or_value_error(lambda: forward(x, h0, Wx, Wh, b), _sequence_check(x, H))
    if result is None:
        return
    h, cache = result
    grads = defined_or_value_error(lambda: backward(np.ones_like(h), cache), lambda g: None)
    assert grads is not None
    dx, dh0, dWx, dWh, db = grads[:5]
    assert dx.shape == x.shape and dh0.shape == h0.shape and dWh.shape == Wh.shape
    if all(np.isfinite(a).all() for a in (x, h0, Wx, Wh, b)) and x.dtype == np.float64:
        assert np.isfinite(h).all() and np.isfinite(dWx).all()


@pytest.mark.parametrize("forward,gates", [
    (F.rnn_step_forward, 1), (F.gru_step_forward, 3),
    (lambda x, h, Wx, Wh, b: F.lstm_step_forward(x, h, np.zeros_like(h), Wx, Wh, b), 4)])
@SETTINGS
@given(data=st.data())
def test_step_functions_give_a_result_or_one_clear_error(forward, gates, data):
    x, h0, Wx, Wh, b = data.draw(cell_inputs(gates, step=True))
    H = h0.shape[1]
    defined_or_value_error(lambda: forward(x, h0, Wx, Wh, b),
                           lambda result: result[0].shape == (x.shape[0], H))


@pytest.mark.parametrize("cell", sorted(CELLS))
@SETTINGS
@given(data=st.data())
def test_layers_give_a_result_or_one_clear_error(cell, data):
    N, T, D = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3)), data.draw(st.integers(1, 3))
    units = 4 if cell == "clockwork" else data.draw(st.integers(1, 3))
    x = data.draw(arrays((N, T, D), data.draw(st.sampled_from(DTYPES))))
    layer = CELLS[cell](units, return_sequences=data.draw(st.booleans()))

    def check(out):
        assert out.shape[0] == N and out.shape[-1] % units == 0
    out = defined_or_value_error(lambda: layer.forward(x), check)
    if out is not None:
        dx = defined_or_value_error(lambda: layer.backward(np.ones_like(out)), lambda d: None)
        assert dx is not None and dx.shape == x.shape


@SETTINGS
@given(data=st.data())
def test_a_language_model_gives_a_loss_or_one_clear_error(data):
    from rnnlab.models import LanguageModel
    V = 5
    N, T = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    model = LanguageModel(V, embedding_dim=3, hidden_size=4, num_layers=1,
                          cell=data.draw(st.sampled_from(sorted(CELLS))), seed=0)
    dtype = data.draw(st.sampled_from(["int64", "int32", "uint8", "float64"]))
    x = np.random.default_rng(data.draw(st.integers(0, 99))).integers(-1, V + 1, (N, T)).astype(dtype)
    y = np.abs(x).astype(np.int64) % V
    defined_or_value_error(lambda: model.loss(x, y), lambda loss: np.isfinite(loss) or x.size == 0)


@SETTINGS
@given(scores=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1,
                       max_size=6),
       temperature=st.one_of(st.just(0.0), st.just(1e-320), st.floats(1e-300, 1e300)),
       top_k=st.one_of(st.none(), st.integers(1, 6)),
       top_p=st.one_of(st.none(), st.floats(1e-6, 1.0)))
def test_sampling_probabilities_are_a_distribution_whenever_the_scores_are_finite(
        scores, temperature, top_k, top_p):
    from rnnlab.models.sampling import next_token_probabilities
    scores = np.array([scores])

    def check(p):
        if np.isfinite(scores).all():
            assert np.isfinite(p).all() and (p >= 0).all()
            assert p.sum() == pytest.approx(1.0)
    defined_or_value_error(lambda: next_token_probabilities(scores, temperature, top_k, top_p), check)
