"""One-node ONNX graphs for the ONNX ``LSTM``, ``GRU`` and ``RNN`` operators, built from
rnnlab's weights, and a runner on ONNX Runtime. Needs the ``interop`` extra (onnx,
onnxruntime).

Layout conversions (rnnlab -> ONNX, one direction, layout 0: X is (T, N, D)):

    LSTM  rnnlab columns i, f, o, g          -> ONNX rows i, o, f, c: W = Wx^T, R = Wh^T
          b (4H,)                            -> B = [Wb, Rb] = [b, 0]  (8H,)
          peepholes p_i, p_f, p_o            -> P = [p_i, p_o, p_f]   (ONNX orders i, o, f)
          cifg (rnnlab: i = 1 - f)           -> input_forget=1 (ONNX Runtime: f = 1 - i);
              since 1 - sigmoid(a) = sigmoid(-a), ONNX's i block holds the negated f
              block (weights, bias, peephole) and its f block is unused
          gate_clip=k                        -> clip=k
    GRU   rnnlab columns r, z, n             -> ONNX rows z, r, h
          reset_after=True, b (2, 3H)        -> linear_before_reset=1, B = [b[0], b[1]]
          reset_after=False, b (3H,)         -> linear_before_reset=0, B = [b, 0]
    RNN   W = Wx^T, R = Wh^T, B = [b, 0]
    every cell: its activations (f, g, h) -> activations, activation_alpha and
          activation_beta (``activation_attributes``); gate_clip=k -> clip=k

ONNX -> rnnlab (``*_from_onnx``, one direction: W (G, D), R (G, H), B (2G,), P (3H,))
inverts them: the blocks reordered back, Wb + Rb summed (GRU with
linear_before_reset=1 keeps both rows), and with input_forget=1 rnnlab's f block is
the negated ONNX i block (ONNX's f block is not read, as ONNX Runtime does not).
"""
import numpy as np

from ..functional.gate_activations import DEFAULTS, NAMES, USES, Activation, gate_activation
from .blocks import RNNLAB_GRU, RNNLAB_LSTM, reorder_blocks

OPSET = 17
LSTM_ONNX_BLOCKS = ("i", "o", "f", "g")  # ONNX's i, o, f, c in rnnlab's names
GRU_ONNX_BLOCKS = ("z", "r", "n")  # ONNX's z, r, h


def lstm_to_onnx(Wx, Wh, b, peepholes=None, cifg=False):
    """rnnlab LSTM weights -> ONNX (W (1, 4H, D), R (1, 4H, H), B (1, 8H), P (1, 3H) or
    None), converted as the module docstring says."""
    peepholes = dict(peepholes or {})
    names = ("f", "o", "g") if cifg else ("i", "f", "o", "g")
    H = Wx.shape[1] // len(names)
    if cifg:  # ONNX i block := -(rnnlab f block); ONNX f block unused
        def expand(a):  # (f, o, g) -> (i = -f, f = 0, o, g)
            f, o, g = np.split(np.asarray(a), 3, axis=-1)
            return np.concatenate([-f, np.zeros_like(f), o, g], axis=-1)

        Wx, Wh, b = expand(Wx), expand(Wh), expand(b)
        names = ("i", "f", "o", "g")
        if "p_f" in peepholes:
            peepholes = {"p_i": -peepholes["p_f"], **{k: v for k, v in peepholes.items() if k != "p_f"}}
    W = reorder_blocks(Wx, names, LSTM_ONNX_BLOCKS).T[None]
    R = reorder_blocks(Wh, names, LSTM_ONNX_BLOCKS).T[None]
    B = np.concatenate([reorder_blocks(b, names, LSTM_ONNX_BLOCKS), np.zeros(4 * H, b.dtype)])[None]
    P = None
    if peepholes:
        zero = np.zeros(H, Wx.dtype)
        P = np.concatenate([peepholes.get(k, zero) for k in ("p_i", "p_o", "p_f")])[None]
    return W, R, B, P


def gru_to_onnx(Wx, Wh, b, reset_after=True):
    """rnnlab GRU weights -> ONNX (W (1, 3H, D), R (1, 3H, H), B (1, 6H))."""
    names = ("r", "z", "n")
    bx, bh = (b[0], b[1]) if reset_after else (b, np.zeros_like(b))
    W = reorder_blocks(Wx, names, GRU_ONNX_BLOCKS).T[None]
    R = reorder_blocks(Wh, names, GRU_ONNX_BLOCKS).T[None]
    B = np.concatenate([reorder_blocks(bx, names, GRU_ONNX_BLOCKS), reorder_blocks(bh, names, GRU_ONNX_BLOCKS)])[None]
    return W, R, B


def rnn_to_onnx(Wx, Wh, b):
    """rnnlab RNN weights -> ONNX (W (1, H, D), R (1, H, H), B (1, 2H))."""
    return Wx.T[None], Wh.T[None], np.concatenate([b, np.zeros_like(b)])[None]


def activation_attributes(specs):
    """rnnlab activation specs -> ONNX's activations, activation_alpha, activation_beta
    (an alpha or beta written for each activation that takes one, in order)."""
    acts = [gate_activation(spec) for spec in specs]
    attributes = {"activations": [a.onnx_name for a in acts],
                  "activation_alpha": [a.alpha for a in acts if USES.get(a.name, (0, 0))[0]],
                  "activation_beta": [a.beta for a in acts if USES.get(a.name, (0, 0))[1]]}
    return {k: v for k, v in attributes.items() if v}


def activations_from_onnx(names, alphas=(), betas=()):
    """ONNX's activations -> Activations, each alpha and beta taken in order by the
    activations that use one, the defaults of ONNX Runtime where the lists run out."""
    alphas, betas, acts = list(alphas or ()), list(betas or ()), []
    for name in names:
        name = name.lower()
        if name not in NAMES:
            raise ValueError(f"activations: {name!r} is not an ONNX activation")
        alpha, beta = DEFAULTS.get(name, (0.0, 0.0))
        uses = USES.get(name, (False, False))
        if uses[0] and alphas:
            alpha = float(alphas.pop(0))
        if uses[1] and betas:
            beta = float(betas.pop(0))
        acts.append(Activation(name, alpha, beta))
    return acts


def lstm_from_onnx(W, R, B, P=None, input_forget=False):
    """One direction of ONNX LSTM weights -> rnnlab (Wx, Wh, b, peepholes dict)."""
    H = R.shape[-1]
    B = np.zeros(8 * H, W.dtype) if B is None else B
    Wx, Wh, b = (reorder_blocks(a, LSTM_ONNX_BLOCKS, RNNLAB_LSTM)
                 for a in (W.T, R.T, B[: 4 * H] + B[4 * H :]))
    P = {} if P is None else dict(zip(("p_i", "p_o", "p_f"), np.split(P, 3)))
    if not input_forget:
        return Wx, Wh, b, P
    keep = lambda a: np.concatenate(  # noqa: E731  (i, f, o, g) -> (f = -i, o, g)
        [-a[..., :H], a[..., 2 * H :]], axis=-1)
    peepholes = {k: v for k, v in P.items() if k != "p_f"}
    if "p_i" in peepholes:
        peepholes["p_f"] = -peepholes.pop("p_i")
    return keep(Wx), keep(Wh), keep(b), peepholes


def gru_from_onnx(W, R, B, linear_before_reset):
    """One direction of ONNX GRU weights -> rnnlab (Wx, Wh, b); b is (2, 3H) with
    linear_before_reset (reset_after) and (3H,) without."""
    H = R.shape[-1]
    B = np.zeros(6 * H, W.dtype) if B is None else B
    Wx, Wh, bx, bh = (reorder_blocks(a, GRU_ONNX_BLOCKS, RNNLAB_GRU)
                      for a in (W.T, R.T, B[: 3 * H], B[3 * H :]))
    return Wx, Wh, (np.stack([bx, bh]) if linear_before_reset else bx + bh)


def rnn_from_onnx(W, R, B):
    """One direction of ONNX RNN weights -> rnnlab (Wx, Wh, b)."""
    H = R.shape[-1]
    B = np.zeros(2 * H, W.dtype) if B is None else B
    return np.ascontiguousarray(W.T), np.ascontiguousarray(R.T), B[:H] + B[H:]


def recurrent_node_model(op, weights, hidden_size, with_cell=False, **attributes):
    """A one-node ONNX model running ``op`` ("LSTM", "GRU", "RNN").

    weights: the operator's weight inputs in order (W, R, B[, P]) as float32 arrays,
    stored as initializers. Graph inputs: X (T, N, D), initial_h (1, N, H) and, with
    ``with_cell``, initial_c; outputs Y (T, 1, N, H), Y_h (and Y_c).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    names = ["W", "R", "B", "P"][: len(weights)]
    initializers = [numpy_helper.from_array(np.asarray(w, np.float32), name)
                    for name, w in zip(names, weights)]
    state_inputs = ["initial_h"] + (["initial_c"] if with_cell else [])
    # ONNX input order: X, W, R, B, sequence_lens, initial_h, initial_c, P
    node_inputs = ["X", "W", "R", "B", "", *state_inputs] + (["P"] if "P" in names else [])
    outputs = ["Y", "Y_h"] + (["Y_c"] if with_cell else [])
    node = helper.make_node(op, node_inputs, outputs, hidden_size=hidden_size, **attributes)
    D = np.shape(weights[0])[2]
    shapes = {"X": ["T", "N", D], "Y": ["T", 1, "N", hidden_size]}
    value = lambda name: helper.make_tensor_value_info(  # noqa: E731
        name, TensorProto.FLOAT, shapes.get(name, [1, "N", hidden_size]))
    graph = helper.make_graph([node], f"rnnlab_{op.lower()}", [value("X")] + [value(s) for s in state_inputs],
                              [value(o) for o in outputs], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def run_model(model, x, h0, c0=None):
    """Run a model from ``recurrent_node_model`` on ONNX Runtime with batch-first x (N, T, D)
    and h0 (N, H) (c0 (N, H)); returns batch-first outputs (h (N, T, H), h_T[, c_T])."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    feeds = {"X": np.ascontiguousarray(np.swapaxes(x, 0, 1), np.float32),
             "initial_h": np.asarray(h0, np.float32)[None]}
    if c0 is not None:
        feeds["initial_c"] = np.asarray(c0, np.float32)[None]
    Y, *states = session.run(None, feeds)
    return (np.swapaxes(Y[:, 0], 0, 1), *(s[0] for s in states))
