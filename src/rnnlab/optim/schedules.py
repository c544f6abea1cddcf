"""Learning-rate schedules: a multiplier of the base learning rate.

``schedule(iteration, epoch)`` is the factor for the update about to happen
(iteration: updates done so far; epoch: from 0). As torch.optim.lr_scheduler:

    Constant()                         1
    ExponentialDecay(decay, k=1)       decay ** max(0, epoch + 1 - k): constant for the
                                       first k epochs, then times decay each epoch (k = 1:
                                       the source material's per-epoch
                                       ``learning_rate_decay``, ExponentialLR; Zaremba et
                                       al. 2014: 0.5 after k = 4 epochs)
    StepDecay(step_size, gamma)        gamma ** (epoch // step_size)            (StepLR)
    Cosine(total, min_factor=0)        m + (1 - m) (1 + cos(pi min(i, total) / total)) / 2
                                                                      (CosineAnnealingLR)
    Warmup(iterations, then)           min(1, (i + 1) / iterations) * then(i, epoch)
                                       (LinearLR from 1/iterations to 1)
    ReduceOnPlateau(factor, patience)  starts at 1; ``observe(val_loss)``: after more
                                       than ``patience`` evaluations without a relative
                                       improvement of ``threshold``, multiply by factor
                                                                      (ReduceLROnPlateau)

``state()`` is a JSON-ready dict that ``schedule_from_state`` turns back into the
schedule, including what ReduceOnPlateau has observed.
"""
import math


class Schedule:
    def observe(self, metric):
        """A validation loss; only ReduceOnPlateau uses it."""

    def state(self):
        return {"type": type(self).__name__, **vars(self)}


class Constant(Schedule):
    def __call__(self, iteration, epoch):
        return 1.0


class ExponentialDecay(Schedule):
    def __init__(self, decay, constant_epochs=1):
        if not 0 < decay <= 1:
            raise ValueError(f"learning_rate_decay: expected a number in (0, 1], got {decay!r}")
        if not (isinstance(constant_epochs, int) and constant_epochs >= 1):
            raise ValueError(f"constant_epochs: expected a positive integer, got {constant_epochs!r}")
        self.decay, self.constant_epochs = decay, constant_epochs

    def __call__(self, iteration, epoch):
        return self.decay ** max(0, epoch + 1 - self.constant_epochs)


class StepDecay(Schedule):
    def __init__(self, step_size, gamma=0.1):
        if not (isinstance(step_size, int) and step_size >= 1):
            raise ValueError(f"step_size: expected a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma

    def __call__(self, iteration, epoch):
        return self.gamma ** (epoch // self.step_size)


class Cosine(Schedule):
    def __init__(self, total, min_factor=0.0):
        if not (isinstance(total, int) and total >= 1):
            raise ValueError(f"total: expected a positive number of iterations, got {total!r}")
        self.total, self.min_factor = total, min_factor

    def __call__(self, iteration, epoch):
        progress = min(iteration, self.total) / self.total
        return self.min_factor + (1 - self.min_factor) * (1 + math.cos(math.pi * progress)) / 2


class Warmup(Schedule):
    def __init__(self, iterations, then=None):
        if not (isinstance(iterations, int) and iterations >= 1):
            raise ValueError(f"warmup: expected a positive number of iterations, got {iterations!r}")
        self.iterations, self.then = iterations, then or Constant()

    def __call__(self, iteration, epoch):
        return min(1.0, (iteration + 1) / self.iterations) * self.then(iteration, epoch)

    def observe(self, metric):
        self.then.observe(metric)

    def state(self):
        return {"type": "Warmup", "iterations": self.iterations, "then": self.then.state()}


class ReduceOnPlateau(Schedule):
    def __init__(self, factor=0.5, patience=2, threshold=1e-4, min_factor=0.0, scale=1.0,
                 best=None, bad_evaluations=0):
        if not 0 < factor < 1:
            raise ValueError(f"factor: expected a number in (0, 1), got {factor!r}")
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.min_factor, self.scale = min_factor, scale
        self.best, self.bad_evaluations = best, bad_evaluations

    def __call__(self, iteration, epoch):
        return self.scale

    def observe(self, metric):
        if self.best is None or metric < self.best * (1 - self.threshold):
            self.best, self.bad_evaluations = metric, 0
            return
        self.bad_evaluations += 1
        if self.bad_evaluations > self.patience:
            self.scale = max(self.scale * self.factor, self.min_factor)
            self.bad_evaluations = 0


SCHEDULES = {cls.__name__: cls for cls in (Constant, ExponentialDecay, StepDecay, Cosine, Warmup,
                                           ReduceOnPlateau)}


def schedule_from_state(state):
    state = dict(state)
    kind = state.pop("type", None)
    if kind not in SCHEDULES:
        raise ValueError(f"schedule: unknown type {kind!r}")
    if kind == "Warmup":
        state["then"] = schedule_from_state(state["then"])
    return SCHEDULES[kind](**state)
