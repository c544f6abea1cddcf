"""The recurrent layer: everything a Keras recurrent layer does around its cell.

    out = layer.forward(x, mask=None, initial_state=None, lengths=None)

x (N, T, D) -> (N, T, P) with ``return_sequences`` else the last valid output (N, P);
with ``return_state`` the final states follow: ``(out, h, c)`` for an LSTM, ``(out, h)``
otherwise. ``backward`` takes the same structure (None for a missing gradient) and
returns dx; the gradients on the initial states are left in ``dinitial_state``.

Options, as Keras:
- ``go_backwards``: read each sequence from its last valid step to its first; outputs
  in processing order (output t belongs to input T - 1 - t).
- ``stateful``: the final states of batch k are the initial states of batch k + 1 (as
  constants: no gradient crosses the boundary); ``reset_states()`` forgets them.
- ``dropout``: variational input dropout, one mask (N, D) per sequence for all steps;
  ``recurrent_dropout``: one mask (N, P) per sequence on h_{t-1} in the recurrent
  product (Gal & Ghahramani 2016). Training mode only.
- ``recurrent_bias`` (LSTM and SimpleRNN): a second bias b_h beside b, x Wx + b +
  h Wh + b_h, as PyTorch's b_ih and b_hh and the Torch code of Zaremba et al. 2014.
  It changes no output (only b + b_h counts) but SGD moves the sum twice as fast
  (d b_h = d b) and global-norm clipping counts the bias gradient twice.
- ``mask`` (N, T) or ``lengths`` (N,): padded steps leave the state unchanged, their
  outputs are zero, the final state is each sequence's state at its own last step
  (see ``alignment``).

A subclass supplies the cell: ``state_sizes``, ``_make_params``, ``_run`` and
``_run_backward``; and says what it is: ``state_names``, ``gate_names`` (the gate
blocks of its fused columns, from its functional module), ``candidate_gates`` (those of
them that are tanh candidates, not sigmoid gates), ``traced_caches`` (what a
visualisation reads) and ``options_in_use`` (what sets it apart from the plain cell: the
one list every converter checks against what its format has).
"""
import numpy as np

from ..functional.checks import ShapeChecker
from .alignment import alignment_from_mask
from .base import Layer, check_fraction, check_positive_int, check_rank


class Recurrent(Layer):
    supports_masking = True
    state_names = ("h",)
    output_state = 0  # which state is the output at every step
    supports_recurrent_bias = False  # cells whose bias is added once per step (LSTM, RNN)
    gate_names = ()  # the gate blocks of the fused columns, in order (none: a plain RNN)
    candidate_gates = ()  # gate blocks that are tanh candidates (LSTM g, GRU n)

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, dropout=0.0, recurrent_dropout=0.0, recurrent_bias=False,
                 name=None):
        super().__init__(name)
        self.units = check_positive_int("units", units)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.dropout = check_fraction("dropout", dropout)
        self.recurrent_dropout = check_fraction("recurrent_dropout", recurrent_dropout)
        self.recurrent_bias = bool(recurrent_bias)
        if self.recurrent_bias and not self.supports_recurrent_bias:
            raise ValueError(f"recurrent_bias: only LSTM and SimpleRNN take a second bias, not "
                             f"{type(self).__name__}")
        self.states = None  # carried states of a stateful layer
        self.final_states = None  # the final states of the last forward
        self.caching = True  # False: inference, forward keeps no cache where the cell can
        self.dinitial_state = None

    # -- the cell's part -------------------------------------------------------------
    def options_in_use(self):
        """name -> value of each cell option away from the plain cell (none here)."""
        return {}

    @property
    def state_sizes(self):
        """The size of each state, in ``state_names`` order."""
        return (self.units,)

    def _run(self, x, states, recurrent_mask):
        """Aligned x (N, T, D) and initial states -> (y (N, T, P), histories, cache);
        histories: one (T+1, N, S) time-major array per state (s_0 .. s_T)."""
        raise NotImplementedError

    def _infer(self, x, states):
        """Aligned x (N, T, D) and initial states -> (y (N, T, P), final states), keeping
        nothing for a backward pass; None for a cell without such a path (then ``_run``)."""
        return None

    def _run_backward(self, dsteps, cache):
        """dsteps: per state, the gradient on it at every step, (N, T, S) or None
        -> (dx (N, T, D), gradient per initial state, name -> parameter gradient)."""
        raise NotImplementedError

    def build(self, input_shape, dtype=np.float32, rng=None):
        shape = super().build(input_shape, dtype, rng)
        if self.recurrent_bias:
            self.params["b_h"] = np.zeros_like(self.params["b"])
            self.grads["b_h"] = np.zeros_like(self.params["b"])
        return shape

    def total_bias(self):
        """The bias the cell adds: b, or b + b_h with ``recurrent_bias``."""
        p = self.params
        return p["b"] + p["b_h"] if self.recurrent_bias else p["b"]

    def _recurrent_mask(self, N):
        """The variational recurrent dropout mask of one batch, (N, P)."""
        return self.dropout_mask((N, self.output_size), self.recurrent_dropout)

    def stepper(self, N, start=0):
        """For inference one step at a time (sampling): -> step(x (N, D), states) ->
        (output (N, P), new states); ``start``: the step the first call is (for cells with
        a clock). This general one runs ``forward`` on one step; cells with a leaner step
        (``functional.*_stepper``) override ``_cell_stepper``."""
        cell_step = self._cell_stepper(N)
        if cell_step is None:
            def step(x, states):
                self.forward(x[:, None], initial_state=states)
                return self.final_states[self.output_state], self.final_states
            return step

        def lean_step(x, states):
            new = cell_step(x, *states)
            new = new if isinstance(new, tuple) else (new,)
            return new[self.output_state], new
        return lean_step

    def _cell_stepper(self, N):
        """step(x, *states) -> new state(s) from the functional layer, or None."""
        return None

    # -- the layer -------------------------------------------------------------------
    @property
    def output_size(self):
        return self.state_sizes[self.output_state]

    def output_shape(self, input_shape):
        T = input_shape[0]
        out = (T, self.output_size) if self.return_sequences else (self.output_size,)
        if self.return_state:
            return (out,) + tuple((size,) for size in self.state_sizes)
        return out

    def output_mask(self, mask):
        if not self.return_sequences or mask is None:
            return None
        return mask[:, ::-1] if self.go_backwards else mask

    def reset_states(self):
        self.states = None

    @property
    def last_cache(self):
        """The cell's cache of the last forward (time-major; in reading order, the
        padding moved last)."""
        return self._saved[1]

    def traced_caches(self):
        """[(name, cache)] of each cell the last forward ran, bottom first: what
        visualisations read (``cache.h``, ``cache.tanh_c``, ``cache.gates`` in
        ``gate_names`` order)."""
        return [(self.name, self.last_cache)]

    def forward(self, x, mask=None, initial_state=None, lengths=None):
        check_rank("x", x, {3: "(N, T, D)"})
        self.ensure_built(x)
        D = self.input_shape[-1]
        check = ShapeChecker(D=D)
        check.dtype, check.dtype_source = self.dtype, f"the {self.name} layer's weights"
        N, T, _ = check("x", x, "NTD").shape
        align = alignment_from_mask(mask, lengths, N, T, self.go_backwards)
        states = self._initial_states(initial_state, N)
        input_keep = recurrent_mask = None
        if self.training and self.dropout:
            input_keep = self.dropout_mask((N, 1, D), self.dropout)
            x = x * input_keep
        if self.training and self.recurrent_dropout:
            recurrent_mask = self._recurrent_mask(N)
        inferred = None  # without a cache; every row's final state its last step's
        if not self.caching and recurrent_mask is None and (align.lengths == T).all():
            inferred = self._infer(align.inputs(x), states)
        if inferred is None:
            y, histories, cache = self._run(align.inputs(x), states, recurrent_mask)
            finals = tuple(history[align.lengths, np.arange(N)] for history in histories)
        else:
            (y, finals), cache = inferred, None
        self.final_states = finals
        if self.stateful:
            self.states = tuple(s.copy() for s in finals)
        self._saved = (align, cache, input_keep, y.shape)
        out = align.outputs(y) if self.return_sequences else finals[self.output_state]
        return (out,) + finals if self.return_state else out

    def _initial_states(self, initial_state, N):
        names = self.state_names
        if initial_state is None and self.stateful and self.states is not None:
            if self.states[0].shape[0] != N:
                raise ValueError(f"x: a stateful layer keeps the batch size, expected N = "
                                 f"{self.states[0].shape[0]}, got {N}; call reset_states()")
            return self.states
        if initial_state is None:
            return tuple(np.zeros((N, size), self.dtype) for size in self.state_sizes)
        if isinstance(initial_state, np.ndarray):
            initial_state = (initial_state,)
        if len(initial_state) != len(names):
            raise ValueError(f"initial_state: expected {len(names)} arrays ({', '.join(names)}), "
                             f"got {len(initial_state)}")
        check = ShapeChecker(N=N)
        check.dtype, check.dtype_source = self.dtype, f"the {self.name} layer's weights"
        return tuple(check(f"initial_state[{k}] ({name})", s, ("N", str(size)))
                     for k, (name, s, size) in enumerate(zip(names, initial_state, self.state_sizes)))

    def backward(self, dout):
        align, cache, input_keep, y_shape = self._saved
        if cache is None:
            raise RuntimeError(f"{self.name}: backward after a forward that kept no cache "
                               f"(inference with caches=False)")
        N, T, P = y_shape
        dfinals = list(dout[1:]) if self.return_state else [None] * len(self.state_names)
        dout = dout[0] if self.return_state else dout
        dsteps = [None] * len(self.state_names)
        k_out = self.output_state
        if self.return_sequences and dout is not None:
            dsteps[k_out] = align.output_grad(dout).copy()
        elif dout is not None:
            dfinals[k_out] = dout if dfinals[k_out] is None else dfinals[k_out] + dout
        direct = [None] * len(dsteps)
        for k, dfinal in enumerate(dfinals):
            if dfinal is not None:
                if dsteps[k] is None:
                    dsteps[k] = np.zeros((N, T, self.state_sizes[k]), self.dtype)
                direct[k] = align.last_step_grad(dfinal, dsteps[k])
        if dsteps[k_out] is None:
            dsteps[k_out] = np.zeros((N, T, P), self.dtype)
        dx, dstates0, grads = self._run_backward(dsteps, cache)
        if self.recurrent_bias:  # b + b_h: d b_h = d b
            grads["b_h"] = grads["b"]
        self.dinitial_state = tuple(d if extra is None else d + extra
                                    for d, extra in zip(dstates0, direct))
        for name, g in grads.items():
            self.grads[name] += g
        dx = align.input_grad(dx)
        return dx if input_keep is None else dx * input_keep
