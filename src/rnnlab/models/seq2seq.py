"""Seq2Seq: an encoder reads the source; its final state starts a decoder that writes
the target (Sutskever et al. 2014; Cho et al. 2014).

    source ids (N, S) -> Embedding(mask_zero) -> encoder (optionally bidirectional)
        -> final states s (each direction's states concatenated when bidirectional)
    target ids (N, T+1) = [start, w_1 .. w_k, end, 0 ...]
        decoder reads [start, w_1 .. w_k] from s (teacher forcing) -> Dense -> scores
        loss = cross-entropy against [w_1 .. w_k, end], padding (id 0) not counted

Backward: the decoder's gradient on its initial state is the gradient on the encoder's
final state, so the encoder learns through it. Inference: ``greedy`` or
``beam_search`` decoding. Ids: 0 padding, ``start_id`` and ``end_id`` (default 1, 2).
"""
import numpy as np

from ..functional.activations import log_softmax
from ..functional.losses import token_softmax_loss
from ..layers import Bidirectional, Dense, Embedding, TimeDistributed
from .base import Model
from .beam_search import beam_search
from .stack import CELLS


class Seq2Seq(Model):
    name = "seq2seq"

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=64, hidden_size=128,
                 cell="lstm", bidirectional=False, dropout=0.0, start_id=1, end_id=2,
                 dtype="float32", seed=None, **cell_options):
        if cell not in CELLS or cell == "depth_gated_lstm":
            allowed = sorted(set(CELLS) - {"depth_gated_lstm"})
            raise ValueError(f"cell: expected one of {allowed}, got {cell!r}")
        self.config = dict(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                           embedding_dim=embedding_dim, hidden_size=hidden_size, cell=cell,
                           bidirectional=bidirectional, dropout=dropout, start_id=start_id,
                           end_id=end_id, dtype=str(np.dtype(dtype)), **cell_options)
        self.start_id, self.end_id = start_id, end_id
        self.bidirectional = bool(bidirectional)
        make = CELLS[cell]
        self.source_embedding = Embedding(source_vocab_size, embedding_dim, mask_zero=True,
                                          name="source_embedding")
        encoder = make(hidden_size, return_state=True, dropout=dropout, name="encoder",
                       **cell_options)
        self.encoder = Bidirectional(encoder, name="encoder") if bidirectional else encoder
        self.target_embedding = Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.decoder = make(hidden_size * (2 if bidirectional else 1), return_sequences=True,
                            return_state=True, dropout=dropout, name="decoder", **cell_options)
        self.projection = TimeDistributed(Dense(target_vocab_size), name="projection")
        self.layers = [self.source_embedding, self.encoder, self.target_embedding, self.decoder,
                       self.projection]
        rng, dtype = np.random.default_rng(seed), np.dtype(dtype)
        for layer, shape in zip(self.layers, [(None,), (None, embedding_dim), (None,),
                                              (None, embedding_dim), (None, self.decoder.output_size)]):
            layer.build(shape, dtype, rng)

    def encode(self, source):
        """source ids (N, S), 0 for padding -> the decoder's initial states."""
        x = self.source_embedding.forward(source)
        _, *states = self.encoder.forward(x, mask=self.source_embedding.output_mask(None))
        if self.bidirectional:  # (forward h, c, backward h, c) -> ([h_f, h_b], [c_f, c_b])
            k = len(states) // 2
            states = [np.concatenate([states[i], states[k + i]], axis=1) for i in range(k)]
        return states

    def _encode_backward(self, dstates):
        if self.bidirectional:
            H = dstates[0].shape[1] // 2
            dstates = [d[:, :H] for d in dstates] + [d[:, H:] for d in dstates]
        dx = self.encoder.backward((None, *dstates))
        self.source_embedding.backward(dx)

    def decode_scores(self, target_in, states):
        """Teacher forcing: target input ids (N, T) from states -> scores (N, T, V)."""
        out, *_ = self.decoder.forward(self.target_embedding.forward(target_in),
                                       initial_state=states)
        return self.projection.forward(out)

    def forward(self, source, target_in):
        return self.decode_scores(target_in, self.encode(source))

    def _loss(self, source, target):
        """target (N, T+1): start, the words, end, then padding 0 -> the mean cross-entropy
        per target token, and its backprop (decoder, then encoder through its state)."""
        source, target = np.asarray(source), np.asarray(target)
        target_in, target_out = target[:, :-1], target[:, 1:]
        scores = self.forward(source, target_in)
        loss, dscores = token_softmax_loss(scores, target_out, target_out != 0)

        def backprop():
            dout = self.projection.backward(dscores)
            n_states = len(self.decoder.state_names)
            self.target_embedding.backward(self.decoder.backward((dout,) + (None,) * n_states))
            self._encode_backward(self.decoder.dinitial_state)

        return loss, backprop

    def decode_step(self, tokens, states):
        """One decoder step: tokens (B,), states -> (log-probabilities (B, V), new states).
        Padding and the start token are never proposed."""
        out, *states = self.decoder.forward(self.target_embedding.forward(tokens[:, None]),
                                            initial_state=states)
        logp = log_softmax(self.projection.forward(out)[:, 0].astype(np.float64))
        logp[:, [0, self.start_id]] = -np.inf
        return logp, states

    def greedy(self, source, max_length=20):
        """The most probable next token at each step -> one id list per source (without
        start and end)."""
        with self.inference(caches=False):
            states = self.encode(np.asarray(source))
            N = states[0].shape[0]
            tokens = np.full(N, self.start_id)
            outputs, done = [[] for _ in range(N)], np.zeros(N, bool)
            for _ in range(max_length):
                logp, states = self.decode_step(tokens, states)
                tokens = logp.argmax(axis=1)
                for n in np.flatnonzero(~done):
                    if tokens[n] == self.end_id:
                        done[n] = True
                    else:
                        outputs[n].append(int(tokens[n]))
                if done.all():
                    break
        return outputs

    def beam_search(self, source, beam_width=4, max_length=20, length_penalty=0.6):
        """Beam search per source -> one id list per source (without start and end); see
        ``beam_search.beam_search`` for the scoring."""
        with self.inference(caches=False):
            states = self.encode(np.asarray(source))
            return [beam_search(self.decode_step, [s[n:n + 1] for s in states], self.start_id,
                                self.end_id, beam_width, max_length, length_penalty)
                    for n in range(states[0].shape[0])]
