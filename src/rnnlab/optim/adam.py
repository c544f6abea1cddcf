"""Adam (Kingma & Ba 2015), as torch.optim.Adam with its defaults.

    m = beta1 m + (1 - beta1) g
    v = beta2 v + (1 - beta2) g^2
    p -= lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
"""


class Adam:
    """Adam over dicts of arrays; ``state`` holds the moments and the step count."""

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate: expected a positive number, got {learning_rate!r}")
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name}: expected a number in [0, 1), got {beta!r}")
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.state = {"t": 0, "m": {}, "v": {}}

    def step(self, params, grads):
        """One update of every array in ``params`` (name -> array) from ``grads``."""
        state = self.state
        state["t"] += 1
        t = state["t"]
        lr_t = self.learning_rate / (1 - self.beta1**t)
        v_correction = 1 - self.beta2**t
        for name, p in params.items():
            g = grads[name]
            m = state["m"].setdefault(name, g * 0)
            v = state["v"].setdefault(name, g * 0)
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= lr_t * m / ((v / v_correction) ** 0.5 + self.eps)
