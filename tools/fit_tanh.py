"""Fit the rational tanh of ``rnnlab.functional.lstm_compiled``: tanh(x) ~ x P(x^2) / Q(x^2)
on [0, 9], P and Q of degree 4 in x^2, Q(0) = 1, near-minimax in relative error.

Method: Sanathanan-Koerner iteration (the linear least-squares problem
x P(s) - t Q(s) = 0 weighted by 1 / (t Q_previous(s)), s = x^2, t = tanh x) with
Lawson's reweighting towards the largest errors; the best iterate with Q > 0 on the
interval is kept. Prints the coefficients and the errors, exact and in float32.

    python tools/fit_tanh.py
"""
import numpy as np

LIMIT, DEGREE_P, DEGREE_Q, ITERATIONS = 9.0, 4, 4, 200


def fit():
    x = np.cos(np.linspace(0, np.pi, 30001)) * LIMIT / 2 + LIMIT / 2  # Chebyshev points
    x = x[x > 1e-6]
    s, t = x * x, np.tanh(x)
    weights, q_previous, best = np.ones_like(x), np.ones_like(x), (np.inf, None)
    for _ in range(ITERATIONS):
        A = np.hstack([x[:, None] * s[:, None] ** np.arange(DEGREE_P + 1),
                       -t[:, None] * s[:, None] ** np.arange(1, DEGREE_Q + 1)])
        row_weights = np.sqrt(weights) / (t * np.abs(q_previous))
        coef = np.linalg.lstsq(A * row_weights[:, None], t * row_weights, rcond=None)[0]
        p, q = coef[: DEGREE_P + 1], np.concatenate([[1.0], coef[DEGREE_P + 1 :]])
        q_previous = np.polyval(q[::-1], s)
        error = np.abs(x * np.polyval(p[::-1], s) / q_previous - t) / t
        if q_previous.min() > 0 and error.max() < best[0]:
            best = (error.max(), (p, q))
        weights = weights * error / error.mean()
        weights /= weights.sum()
    return best


def float32_error(p, q):
    """Largest absolute error of the float32 evaluation (Horner, clamped as the kernel)."""
    v = np.concatenate([np.linspace(-12, 12, 2_000_001), np.logspace(-8, 1, 100_000)])
    v = v.astype(np.float32)
    x = np.clip(v, np.float32(-LIMIT), np.float32(LIMIT))
    s = x * x
    num, den = np.float32(p[-1]), np.float32(q[-1])
    for a in p[-2::-1]:
        num = num * s + np.float32(a)
    for b in q[-2::-1]:
        den = den * s + np.float32(b)
    r = np.clip(x * num / den, np.float32(-1), np.float32(1))
    return np.abs(r.astype(np.float64) - np.tanh(v.astype(np.float64))).max()


if __name__ == "__main__":
    relative, (p, q) = fit()
    print("TANH_P =", tuple(float(a) for a in p))
    print("TANH_Q =", tuple(float(b) for b in q))
    print(f"largest relative error, exact arithmetic: {relative:.2e}")
    print(f"largest absolute error, float32 evaluation: {float32_error(p, q):.2e}")
