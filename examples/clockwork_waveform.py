"""The sequence-generation task of Koutnik et al. 2014 ("A Clockwork RNN", sec. 4.1),
in small: from no input at all, learn to generate one fixed waveform of 320 samples.

    python examples/clockwork_waveform.py [--iterations 1500] [--seed 0]

Clockwork RNN, vanilla RNN and LSTM with about the same number of parameters, each
with a linear read-out, trained by Adam on the full sequence (BPTT over 320 steps).
Prints each model's parameter count and normalised mean squared error,
NMSE = mean((y - target)^2) / var(target), the paper's measure.
"""
import argparse
import time

import numpy as np

from rnnlab.functional import (
    clockwork_backward,
    clockwork_forward,
    lstm_backward,
    lstm_forward,
    module_mask,
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
)
from rnnlab.optim import Adam, clip_global_norm

T = 320
PERIODS = (1, 2, 4, 8, 16, 32, 64, 128)


def target_waveform():
    """A fixed, non-periodic test signal: a decaying tone, a faster tone entering
    half-way, and a slow swell, scaled to [-0.8, 0.8]."""
    t = np.arange(T)
    y = (0.6 * np.sin(2 * np.pi * t / 80) * np.exp(-t / 200)
         + 0.3 * np.sin(2 * np.pi * t / 23 + 1.0) * (t > T // 2)
         + 0.25 * np.sin(2 * np.pi * t / 160) ** 3)
    return (0.8 * y / np.abs(y).max())[None, :, None]  # (1, T, 1)


def cells(rng):
    """name -> (recurrent params, forward(params, x, h0), backward(dh, cache) -> grads,
    number of effective parameters), sized to about 1,000 parameters each."""
    def normal(*shape):
        return rng.standard_normal(shape) / np.sqrt(shape[0])

    H_cw, H_rnn, H_lstm = 40, 30, 14
    cw = dict(Wx=normal(1, H_cw), Wh=normal(H_cw, H_cw) * module_mask(PERIODS, H_cw), b=normal(1, H_cw)[0] * 0.5)
    rnn = dict(Wx=normal(1, H_rnn), Wh=normal(H_rnn, H_rnn), b=normal(1, H_rnn)[0] * 0.5)
    lstm = dict(Wx=normal(1, 4 * H_lstm), Wh=normal(H_lstm, 4 * H_lstm), b=normal(1, 4 * H_lstm)[0] * 0.5)
    lstm["b"][H_lstm : 2 * H_lstm] = 1.0  # forget-gate bias
    names = ("Wx", "Wh", "b")
    return {
        "Clockwork RNN": (cw, lambda p, x, h0: clockwork_forward(x, h0, **p, periods=PERIODS),
                          lambda dh, c: dict(zip(names, clockwork_backward(dh, c)[2:])),
                          int(module_mask(PERIODS, H_cw).sum()) + 2 * H_cw),
        "vanilla RNN": (rnn, lambda p, x, h0: rnn_forward(x, h0, **p),
                        lambda dh, c: dict(zip(names, rnn_backward(dh, c)[2:])), H_rnn * H_rnn + 2 * H_rnn),
        "LSTM": (lstm, lambda p, x, h0: lstm_forward(x, h0, **p),
                 lambda dh, c: dict(zip(names, lstm_backward(dh, c)[2:])), 4 * H_lstm * (H_lstm + 2)),
    }


def train(params, forward, backward, target, iterations, rng, learning_rate=3e-3):
    H = params["Wh"].shape[0]
    params = dict(params, W_out=rng.standard_normal((H, 1)) * 0.1, b_out=np.zeros(1))
    x, h0 = np.zeros((1, T, 1)), np.zeros((1, H))
    optimizer = Adam(learning_rate=learning_rate)
    recurrent = ("Wx", "Wh", "b")
    for _ in range(iterations):
        h, cache = forward({k: params[k] for k in recurrent}, x, h0)
        y, out_cache = temporal_affine_forward(h, params["W_out"], params["b_out"])
        dy = 2 * (y - target) / T  # d mean squared error
        dh, dW_out, db_out = temporal_affine_backward(dy, out_cache)
        grads = dict(backward(dh, cache), W_out=dW_out, b_out=db_out)
        clip_global_norm(grads, 1.0)
        optimizer.step(params, grads)
    h, _ = forward({k: params[k] for k in recurrent}, x, h0)
    y, _ = temporal_affine_forward(h, params["W_out"], params["b_out"])
    return float(((y - target) ** 2).mean() / target.var()), y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    target = target_waveform()
    print(f"target: {T} samples; {args.iterations} Adam iterations each, seed {args.seed}")
    print("| model | parameters (incl. read-out) | NMSE | time |")
    print("|---|---:|---:|---:|")
    for name, (params, forward, backward, count) in cells(np.random.default_rng(args.seed)).items():
        start = time.time()
        nmse, _ = train(params, forward, backward, target, args.iterations, np.random.default_rng(args.seed))
        H = params["Wh"].shape[0]
        print(f"| {name} (H={H}) | {count + H + 1} | {nmse:.4f} | {time.time() - start:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
