"""Optimizers: ``step(params, grads)`` updates the arrays of ``params`` in place.

Each keeps its state in ``state``: the step count and one dict of arrays per slot
(momentum buffers, moments), keyed like ``params``. ``state_arrays()`` /
``load_state_arrays()`` move the slots to and from a flat ``"slot/name"`` dict (for
checkpoints), ``hyperparameters()`` the rest. Formulas as torch.optim (g: gradient,
p: parameter, lr: ``learning_rate``, which a schedule may change between steps):

    SGD        g += wd p;  b = mu b + g (b = g at the first step);
               p -= lr (g + mu b) with nesterov, else lr b   (lr g without momentum)
    RMSprop    g += wd p;  v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps)
    Adam       g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
               p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    AdamW      p *= 1 - lr wd (decoupled weight decay, Loshchilov & Hutter 2019), then
               Adam without the wd term
"""


def _check_positive(name, value):
    if not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


def _check_unit(name, value):
    if not 0 <= value < 1:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")


class Optimizer:
    slots = ()  # names of the per-parameter state arrays

    def __init__(self, learning_rate, weight_decay=0.0):
        _check_positive("learning_rate", learning_rate)
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay: expected a number >= 0, got {weight_decay!r}")
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.state = {"step": 0, **{slot: {} for slot in self.slots}}

    def step(self, params, grads):
        """One update of every array in ``params`` (name -> array) from ``grads``."""
        self.state["step"] += 1
        for name, p in params.items():
            self._update(name, p, grads[name])

    def _slot(self, slot, name, like):
        """The slot's array for parameter ``name``, zeros (shaped like ``like``) at first."""
        buffers = self.state[slot]
        if name not in buffers:
            buffers[name] = like * 0
        return buffers[name]

    def _decayed(self, p, g):
        """g + wd p (L2 regularisation folded into the gradient)."""
        return g + self.weight_decay * p if self.weight_decay else g

    def hyperparameters(self):
        """Type, learning rate and the other settings, JSON-ready."""
        names = [k for k in vars(self) if k != "state"]
        return {"type": type(self).__name__, **{k: getattr(self, k) for k in names}}

    def state_arrays(self):
        """"slot/name" -> array for every slot (the arrays themselves)."""
        return {f"{slot}/{name}": a for slot in self.slots for name, a in self.state[slot].items()}

    def load_state_arrays(self, arrays, step):
        self.state = {"step": int(step), **{slot: {} for slot in self.slots}}
        for key, a in arrays.items():
            slot, name = key.split("/", 1)
            if slot not in self.slots:
                raise ValueError(f"optimizer state: unknown slot {slot!r} for {type(self).__name__}")
            self.state[slot][name] = a


class SGD(Optimizer):
    slots = ("momentum",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        _check_unit("momentum", momentum)
        if nesterov and not momentum:
            raise ValueError("nesterov: needs a momentum > 0")
        self.momentum, self.nesterov = momentum, bool(nesterov)

    def _update(self, name, p, g):
        g = self._decayed(p, g)
        if self.momentum:
            first = name not in self.state["momentum"]
            b = self._slot("momentum", name, g)
            if first:
                b += g
            else:
                b *= self.momentum
                b += g
            g = g + self.momentum * b if self.nesterov else b
        p -= self.learning_rate * g


class RMSprop(Optimizer):
    slots = ("square_avg",)

    def __init__(self, learning_rate=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        _check_unit("alpha", alpha)
        self.alpha, self.eps = alpha, eps

    def _update(self, name, p, g):
        g = self._decayed(p, g)
        v = self._slot("square_avg", name, g)
        v *= self.alpha
        v += (1 - self.alpha) * g * g
        p -= self.learning_rate * g / (v**0.5 + self.eps)


class Adam(Optimizer):
    slots = ("m", "v")

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        _check_unit("beta1", beta1)
        _check_unit("beta2", beta2)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _adam(self, name, p, g):
        t = self.state["step"]
        m, v = self._slot("m", name, g), self._slot("v", name, g)
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        lr_t = self.learning_rate / (1 - self.beta1**t)
        p -= lr_t * m / ((v / (1 - self.beta2**t)) ** 0.5 + self.eps)

    def _update(self, name, p, g):
        self._adam(name, p, self._decayed(p, g))


class AdamW(Adam):
    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(learning_rate, beta1, beta2, eps, weight_decay)

    def _update(self, name, p, g):
        p *= 1 - self.learning_rate * self.weight_decay
        self._adam(name, p, g)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def make_optimizer(spec, learning_rate, **options):
    """An optimizer from a name ("sgd", "momentum", "nesterov", "rmsprop", "adam",
    "adamw") or an Optimizer instance (returned as it is)."""
    if isinstance(spec, Optimizer):
        return spec
    if spec == "momentum":
        return SGD(learning_rate, momentum=options.pop("momentum", 0.9), **options)
    if spec == "nesterov":
        return SGD(learning_rate, momentum=options.pop("momentum", 0.9), nesterov=True, **options)
    if spec not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS) + ['momentum', 'nesterov']} "
                         f"or an Optimizer, got {spec!r}")
    return OPTIMIZERS[spec](learning_rate, **options)


def optimizer_from_hyperparameters(hyper):
    """The inverse of ``Optimizer.hyperparameters()`` (state not included)."""
    hyper = dict(hyper)
    kind = hyper.pop("type")
    classes = {cls.__name__: cls for cls in OPTIMIZERS.values()}
    if kind not in classes:
        raise ValueError(f"optimizer: unknown type {kind!r}")
    return classes[kind](**hyper)
