"""Many-to-one: the adding problem (Hochreiter & Schmidhuber 1997), a sequence -> a number.

    python examples/many_to_one.py [--steps 50] [--seconds 90]

Each input step is (value, marker): values uniform in [0, 1], exactly two steps marked
(one in each half). The target is the sum of the two marked values, so the network
must remember them across the whole sequence. Predicting the mean (1.0) scores a mean
squared error of 1/6 = 0.167; the task counts as solved below 0.01 (and when nearly
every answer is within 0.04, Hochreiter & Schmidhuber's criterion).
"""
import argparse
import time

import numpy as np

from rnnlab.functional import mean_squared_error
from rnnlab.layers import LSTM, Dense
from rnnlab.models import Sequential
from rnnlab.optim import Adam, clip_global_norm


def adding_problem(rng, N, T):
    """-> x (N, T, 2) (value, marker), y (N, 1) the sum of the marked values."""
    values = rng.uniform(0, 1, (N, T))
    markers = np.zeros((N, T))
    rows = np.arange(N)
    markers[rows, rng.integers(0, T // 2, N)] = 1
    markers[rows, rng.integers(T // 2, T, N)] = 1
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    return x, (values * markers).sum(axis=1, keepdims=True).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="sequence length T")
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    model = Sequential([LSTM(32), Dense(1)], input_shape=(args.steps, 2), seed=args.seed)
    model.summary()
    optimizer = Adam(learning_rate=3e-3)
    x_test, y_test = adding_problem(rng, 1000, args.steps)
    start, iteration, test_mse = time.time(), 0, np.inf
    while time.time() - start < args.seconds and test_mse > 0.0005:
        x, y = adding_problem(rng, 64, args.steps)
        model.zero_grad()
        loss, dy = mean_squared_error(model.forward(x), y)
        model.backward(dy)
        clip_global_norm(model.grads, 1.0)
        optimizer.step(model.params, model.grads)
        iteration += 1
        if iteration % 100 == 0:
            model.eval()
            test_mse = mean_squared_error(model.forward(x_test), y_test)[0]
            model.train()
            print(f"iteration {iteration:5d}  train mse {loss:.4f}  test mse {test_mse:.4f}", flush=True)
    model.eval()
    error = np.abs(model.forward(x_test) - y_test)
    print(f"T = {args.steps}: test mse {np.mean(error ** 2):.4f} (predicting the mean: 0.167), "
          f"{np.mean(error < 0.04):.1%} of answers within 0.04, after {iteration} iterations "
          f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
