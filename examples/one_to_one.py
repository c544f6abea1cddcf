"""One-to-one: a fixed-size input -> a fixed-size output, no recurrence (the first of
Karpathy's five pictures). Two interleaved spirals, told apart by a small Dense net.

    python examples/one_to_one.py [--seconds 30]

Two classes of 2-D points on interleaved spirals (Lang & Witbrock 1988): no line
separates them, so the network must bend its decision boundary around both arms.
"""
import argparse
import time

import numpy as np

from rnnlab.functional import softmax_loss
from rnnlab.layers import Dense
from rnnlab.models import Sequential
from rnnlab.optim import Adam


def spirals(rng, n_per_class, noise=0.05):
    """-> points (2n, 2), labels (2n,)."""
    t = np.sqrt(rng.uniform(0, 1, n_per_class)) * 3 * np.pi  # angle, up to 1.5 turns
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    points = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * n_per_class, 2))
    labels = np.repeat([0, 1], n_per_class)
    return points.astype(np.float32), labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = spirals(rng, 500)
    x_test, y_test = spirals(rng, 500)
    model = Sequential([Dense(64, activation="tanh"), Dense(64, activation="tanh"), Dense(2)],
                       input_shape=(2,), seed=args.seed)
    model.summary()
    optimizer = Adam(learning_rate=1e-2)
    start, epoch = time.time(), 0
    while time.time() - start < args.seconds and epoch < 2000:
        model.zero_grad()
        loss, dscores = softmax_loss(model.forward(x_train), y_train)
        model.backward(dscores)
        optimizer.step(model.params, model.grads)
        epoch += 1
        if epoch % 200 == 0:
            accuracy = np.mean(model.forward(x_test).argmax(axis=1) == y_test)
            print(f"epoch {epoch:4d}  train loss {loss:.3f}  test accuracy {accuracy:.1%}")
    accuracy = np.mean(model.forward(x_test).argmax(axis=1) == y_test)
    print(f"two spirals: test accuracy {accuracy:.1%} (chance 50%) after {epoch} full-batch "
          f"epochs ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
