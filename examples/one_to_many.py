"""One-to-many: one vector -> a sequence. A waveform synthesiser: from (frequency,
amplitude, phase) the model writes the 40 samples of the sine wave they describe.

    python examples/one_to_many.py [--seconds 60]

SequenceGenerator: Dense(tanh) -> RepeatVector(40) -> LSTM -> TimeDistributed(Dense(1)).
Predicting silence (all zeros) scores a mean squared error of E[a^2] / 2 = 0.54.
"""
import argparse
import time

import numpy as np

from rnnlab.models import SequenceGenerator
from rnnlab.optim import Adam, clip_global_norm

STEPS = 40


def waves(rng, N):
    """-> parameters (N, 4) (frequency, amplitude, cos phase, sin phase), waves (N, 40, 1)."""
    frequency = rng.uniform(1, 3, N)  # cycles per 40 steps
    amplitude = rng.uniform(0.5, 1.5, N)
    phase = rng.uniform(0, 2 * np.pi, N)
    t = np.arange(STEPS) / STEPS
    wave = amplitude[:, None] * np.sin(2 * np.pi * frequency[:, None] * t + phase[:, None])
    params = np.stack([frequency - 2, amplitude - 1, np.cos(phase), np.sin(phase)], axis=1)
    return params.astype(np.float32), wave[..., None].astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    model = SequenceGenerator(1, steps=STEPS, hidden_size=64, seed=args.seed)
    optimizer = Adam(learning_rate=3e-3)
    x_test, y_test = waves(rng, 500)
    start, iteration = time.time(), 0
    while time.time() - start < args.seconds:
        x, y = waves(rng, 64)
        loss = model.loss(x, y)
        clip_global_norm(model.grads, 1.0)
        optimizer.step(model.params, model.grads)
        iteration += 1
        if iteration % 200 == 0:
            test_mse = np.mean((model.predict(x_test) - y_test) ** 2)
            print(f"iteration {iteration:5d}  train mse {loss:.4f}  test mse {test_mse:.4f}", flush=True)
    model.summary()
    test_mse = np.mean((model.predict(x_test) - y_test) ** 2)
    print(f"waveforms: test mse {test_mse:.4f} (silence: {np.mean(y_test ** 2):.3f}) after "
          f"{iteration} iterations ({time.time() - start:.0f} s)")
    wave = model.predict(x_test[:1])[0, :, 0]
    print("target   " + " ".join(f"{v:+.2f}" for v in y_test[0, :10, 0]) + " ...")
    print("written  " + " ".join(f"{v:+.2f}" for v in wave[:10]) + " ...")


if __name__ == "__main__":
    main()
