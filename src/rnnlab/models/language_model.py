"""LanguageModel: Embedding -> stacked recurrent layers (any cell) with dropout ->
time-distributed affine to scores over the vocabulary.

    scores = model.forward(ids)              ids (N, T) -> (N, T, V)
    loss = model.loss(x, y)                  mean cross-entropy per token (nats); fills grads
    loss = model.evaluate(x, y)              the same in inference mode, grads untouched
    ids = model.sample(200, prime=[...], temperature=0.8, top_k=None, top_p=None, seed=0)

With ``stateful=True`` the final states of one batch start the next (truncated BPTT
over connected batches); ``reset_states()`` starts afresh. ``tie_weights=True`` scores
with the embedding matrix itself (``TiedDense``; embedding_dim must equal the last
layer's size); ``init_scale=s`` starts every weight U(-s, s) and ``embedding_dropout`` drops the
embedding's output (with ``dropout`` after each layer: every non-recurrent connection,
as Zaremba et al. 2014).
"""
import numpy as np

from ..functional.losses import token_softmax_loss
from ..layers import Dense, Dropout, Embedding, Recurrent, TiedDense, TimeDistributed
from ..layers.base import check_positive_int
from .base import Model
from .sampling import check_sampling, sample_next
from .sequential import Sequential
from .stack import recurrent_stack


class LanguageModel(Model):
    name = "language_model"

    def __init__(self, vocab_size, embedding_dim=64, hidden_size=128, num_layers=2, cell="lstm",
                 dropout=0.0, stateful=False, dtype="float32", seed=None, tie_weights=False,
                 init_scale=None, embedding_dropout=0.0, **cell_options):
        self.config = dict(vocab_size=vocab_size, embedding_dim=embedding_dim,
                           hidden_size=hidden_size, num_layers=num_layers, cell=cell,
                           dropout=dropout, stateful=stateful, dtype=str(np.dtype(dtype)),
                           tie_weights=tie_weights, init_scale=init_scale,
                           embedding_dropout=embedding_dropout, **cell_options)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        check_positive_int("num_layers", num_layers)
        if init_scale is not None and not init_scale > 0:
            raise ValueError(f"init_scale: expected a positive number or None, got {init_scale!r}")
        embedding = Embedding(vocab_size, embedding_dim)
        layers = [embedding] + ([Dropout(embedding_dropout)] if embedding_dropout else [])
        layers += recurrent_stack(cell, hidden_size, num_layers, dropout, stateful=stateful,
                                  **cell_options)
        layers.append(TimeDistributed(TiedDense(embedding) if tie_weights else Dense(vocab_size)))
        self.net = Sequential(layers, input_shape=(None,), dtype=dtype, seed=seed, name=self.name)
        self.layers = self.net.layers
        if init_scale is not None:  # every weight U(-s, s), as Zaremba et al. 2014
            rng = np.random.default_rng(seed)
            for param in self.params.values():
                param[...] = rng.uniform(-init_scale, init_scale, param.shape)

    def forward(self, ids):
        """ids (N, T) -> scores (N, T, V)."""
        return self.net.forward(ids)

    def backward(self, dscores):
        return self.net.backward(dscores)

    def _loss(self, x, y, mask=None):
        """Inputs x (N, T) and targets y (N, T) -> the mean cross-entropy per counted
        token, in nats, and its backprop.

        loss = -(1/K) sum_{n,t} m[n,t] log p(y[n,t] | x[n,:t+1]),  K = sum m
        """
        scores = self.forward(x)  # a fresh array: the loss turns it into dscores in place
        loss, dscores = token_softmax_loss(scores, np.asarray(y), mask, overwrite=True)
        return loss, lambda: self.backward(dscores)

    def sample(self, length, prime=(), temperature=1.0, top_k=None, top_p=None, seed=None,
               exclude=()):
        """Generate ``length`` token ids after ``prime`` (a sequence of ids; without one the
        first token is drawn uniformly, as char-rnn), never one of ``exclude`` (e.g. the
        ids of <null> and <unk>). Reproducible for a fixed ``seed``; the training state
        (mode, carried states) is left as it was."""
        return list(self.generate(length, prime, temperature, top_k, top_p, seed, exclude))

    def generate(self, length, prime=(), temperature=1.0, top_k=None, top_p=None, seed=None,
                 exclude=()):
        """``sample`` one token at a time: yields each id as soon as it is drawn."""
        check_sampling(temperature, top_k, top_p)
        rng = np.random.default_rng(seed)
        prime = np.asarray(list(prime), dtype=np.int64)
        if length <= 0:
            return
        with self.inference(caches=False):
            self.reset_states()  # sampling starts from zero states
            if prime.size == 0:
                allowed = np.setdiff1d(np.arange(self.vocab_size), np.asarray(exclude, np.int64))
                prime = rng.choice(allowed, size=1)
                yield int(prime[0])
                length -= 1
            scores, states = self.forward_from(prime[None], None)
            scores, step = scores[:, -1], self.stepper(1, start=prime.size)
            for _ in range(int(length)):
                token = sample_next(scores, rng, temperature, top_k, top_p, exclude)
                yield int(token[0])
                scores, states = step(token, states)

    def stepper(self, N, start=0):
        """For generation: -> step(ids (N,), states) -> (scores (N, V), new states), one
        token at a time with each recurrent layer's lean stepper (inference mode); the
        first call is step ``start`` of the sequence (the Clockwork RNN's clock)."""
        steps = []
        for layer in self.layers:
            if isinstance(layer, Recurrent):
                steps.append(layer.stepper(N, start))
            elif isinstance(layer, TimeDistributed):
                steps.append(layer.layer.forward)
            else:
                steps.append(layer.forward)

        def step(ids, states):
            x, new_states, k = ids, [], 0
            for layer, layer_step in zip(self.layers, steps):
                if isinstance(layer, Recurrent):
                    x, layer_states = layer_step(x, states[k])
                    new_states.append(layer_states)
                    k += 1
                else:
                    x = layer_step(x)
            return x, new_states

        return step

    def forward_from(self, ids, states):
        """Run ids (N, T) from explicit states (a list per recurrent layer, None for
        zeros) -> (scores (N, T, V), the states after the last step)."""
        x, new_states, k = np.asarray(ids), [], 0
        for layer in self.layers:
            if isinstance(layer, Recurrent):
                x = layer.forward(x, initial_state=None if states is None else states[k])
                new_states.append(layer.final_states)
                k += 1
            else:
                x = layer.forward(x)
        return x, new_states
