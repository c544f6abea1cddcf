"""Variational recurrent dropout inside every cell: finite differences with a mask."""
import numpy as np
import pytest
from cells import defaults
from conftest import assert_gradients

from rnnlab.functional import gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_forward

N, T, D, H = 3, 5, 4, 8


def _params(rng, gates, bias_shape=None):
    return dict(
        x=rng.standard_normal((N, T, D)),
        h0=rng.standard_normal((N, H)),
        Wx=rng.standard_normal((D, gates * H)) / 2,
        Wh=rng.standard_normal((H, gates * H)) / 3,
        b=rng.standard_normal(bias_shape or gates * H) / 4,
    )


def _single_state_cells():
    """Every registered cell whose layer names its sequence functions (rnn, gru,
    clockwork, mgu, and any new one), at its defaults."""
    cells = {}
    for name, make in defaults().items():
        layer = make(units=H)
        if getattr(layer, "cell_forward", None) is not None:
            cells[name] = (layer.cell_forward, layer.cell_backward, layer.gates,
                           layer.bias_shape(), layer.cell_options())
    return cells


CELLS = {
    **_single_state_cells(),
    "lstm": (lstm_forward, lstm_backward, 4, None, {}),
    "lstm_peephole_cifg": (lstm_forward, lstm_backward, 3, None,
                           {"cifg": True, "peepholes": {"p_f": np.full(H, 0.3)}}),
    "gru_reset_before": (gru_forward, gru_backward, 3, None, {"reset_after": False}),
}


@pytest.mark.parametrize("cell", list(CELLS))
def test_recurrent_mask_gradients(rng, cell):
    forward, backward, gates, bias_shape, options = CELLS[cell]
    p = _params(rng, gates, bias_shape)
    mask = (rng.random((N, H)) > 0.4) / 0.6
    h, cache = forward(**p, **options, recurrent_mask=mask)
    dh, dh_final = rng.standard_normal(h.shape), rng.standard_normal((N, H))
    grads = backward(dh, cache, dh_final=dh_final)

    def f():
        h, cache = forward(**p, **options, recurrent_mask=mask)
        return h, cache.final_h

    assert_gradients(f, p, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)), (dh, dh_final))


@pytest.mark.parametrize("cell", list(CELLS))
def test_recurrent_mask_of_ones_changes_nothing(rng, cell):
    forward, _, gates, bias_shape, options = CELLS[cell]
    p = _params(rng, gates, bias_shape)
    plain, _ = forward(**p, **options)
    masked, _ = forward(**p, **options, recurrent_mask=np.ones((N, H)))
    np.testing.assert_array_equal(plain, masked)


def test_recurrent_mask_of_the_wrong_shape_is_named(rng):
    p = _params(rng, 1)
    with pytest.raises(ValueError, match=r"recurrent_mask: expected shape \(N, H\) = \(3, 8\)"):
        rnn_forward(**p, recurrent_mask=np.ones((3, 7)))
