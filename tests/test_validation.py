"""Bad input at the public functions: a ValueError naming the argument, the expected
and the given shape (or dtype)."""
import numpy as np
import pytest

from rnnlab.functional import (
    affine_forward,
    embedding_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    rnn_forward,
    rnn_step_forward,
    temporal_affine_forward,
    temporal_softmax_loss,
)

N, T, D, H = 3, 7, 5, 6
z = np.zeros


def lstm_args(**override):
    args = dict(x=z((N, T, D)), h0=z((N, H)), Wx=z((D, 4 * H)), Wh=z((H, 4 * H)), b=z(4 * H))
    args.update(override)
    return args


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(x=z((N, D))), r"x: expected a 3-D array of shape \(N, T, D\), got shape \(3, 5\)"),
        (dict(h0=z((N, H + 1))), r"h0: expected shape \(N, H\) = \(3, 6\), got \(3, 7\)"),
        (dict(h0=z((N + 1, H))), r"h0: expected shape \(N, H\) = \(3, 6\), got \(4, 6\)"),
        (dict(Wx=z((D + 1, 4 * H))), r"Wx: expected shape \(D, 4H\) = \(5, 24\), got \(6, 24\)"),
        (dict(Wh=z((H, 3 * H))), r"Wh: expected shape \(H, 4H\) = \(6, 24\), got \(6, 18\)"),
        (dict(Wx=z((D, 3 * H))), r"Wx: expected shape \(D, 4H\) = \(5, 24\), got \(5, 18\)"),
        (dict(b=z(3 * H)), r"b: expected shape \(4H,\) = \(24,\), got \(18,\)"),
        (dict(c0=z((N, H + 2))), r"c0: expected shape \(N, H\) = \(3, 6\), got \(3, 8\)"),
        (dict(Wh=z((H, 4 * H), np.float32)),
         r"Wh: expected dtype float64 \(the dtype of x\), got float32"),
        (dict(b=z(4 * H, np.float32)), r"b: expected dtype float64 \(the dtype of x\), got float32"),
        (dict(x=z((N, T, D), int)), r"x: expected dtype float32 or float64, got int64"),
        (dict(h0=[[0.0] * H] * N), r"h0: expected an array of shape \(N, H\) = \(3, 6\), got list"),
        (dict(Wh=z((H, 4 * H + 1))), r"Wh: expected shape \(H, 4H\) = \(6, 24\), got \(6, 25\)"),
    ],
)
def test_lstm_forward_rejects(override, message):
    with pytest.raises(ValueError, match=message):
        lstm_forward(**lstm_args(**override))


def test_lstm_backward_rejects_wrong_upstream_shapes():
    h, cache = lstm_forward(**lstm_args())
    with pytest.raises(ValueError, match=r"dh: expected shape \(N, T, H\) = \(3, 7, 6\), got \(3, 6, 6\)"):
        lstm_backward(h[:, 1:], cache)
    with pytest.raises(ValueError, match=r"dc_final: expected a 2-D array of shape \(N, H\) = \(3, 6\), got shape \(6,\)"):
        lstm_backward(h, cache, dc_final=z(H))


def test_step_functions_reject():
    with pytest.raises(ValueError, match=r"prev_c: expected shape \(N, H\) = \(3, 6\), got \(3, 5\)"):
        lstm_step_forward(z((N, D)), z((N, H)), z((N, 5)), z((D, 4 * H)), z((H, 4 * H)), z(4 * H))
    with pytest.raises(ValueError, match=r"Wh: expected shape \(H, H\) = \(6, 6\), got \(6, 7\)"):
        rnn_step_forward(z((N, D)), z((N, H)), z((D, H)), z((H, H + 1)), z(H))


def test_rnn_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of sigmoid, tanh, relu, .*"
                                         r"got 'swish'"):
        rnn_forward(z((N, T, D)), z((N, H)), z((D, H)), z((H, H)), z(H), nonlinearity="swish")


def test_affine_embedding_loss_reject():
    with pytest.raises(ValueError, match=r"w: expected shape \(D, M\) = \(5, \?\), got \(4, 2\)"):
        affine_forward(z((N, D)), z((4, 2)), z(2))
    with pytest.raises(ValueError, match=r"b: expected shape \(M,\) = \(2,\), got \(3,\)"):
        temporal_affine_forward(z((N, T, D)), z((D, 2)), z(3))
    with pytest.raises(ValueError, match=r"ids: ids must lie in \[0, 4\), got id 4"):
        embedding_forward(np.array([[1, 4]]), z((4, 3)))
    with pytest.raises(ValueError, match=r"ids: expected integer ids, got dtype float64"):
        embedding_forward(z((2, 2)), z((4, 3)))
    with pytest.raises(ValueError, match=r"y: ids must lie in \[0, 5\), got id -1"):
        temporal_softmax_loss(z((N, T, 5)), np.full((N, T), -1))
    with pytest.raises(ValueError, match=r"mask: expected shape \(N, T\) = \(3, 7\), got \(7, 3\)"):
        temporal_softmax_loss(z((N, T, 5)), np.zeros((N, T), int), mask=np.ones((T, N)))
