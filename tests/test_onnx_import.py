"""ONNX -> rnnlab: every attribute combination of the LSTM, GRU and RNN operators that
ONNX Runtime accepts, imported and run against ONNX Runtime on random weights at odd
sizes (N=3, T=7, D=5, H=6; a swapped gate block fails), float32, to 1e-5."""
import itertools

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
from rnnlab.interop.onnx_node import OnnxImportError, RecurrentNode

N, T, D, H = 3, 7, 5, 6
TOLERANCE = 1e-5
pytestmark = pytest.mark.oracle
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def node_model(op, weights, attributes, layout, optional, check=True):
    """A one-node model: X, then the optional inputs named in ``optional`` as graph
    inputs (sequence_lens, initial_h, initial_c), the weights as initializers."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    names = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    inputs = [name if name in optional or name in weights or name == "X" else ""
              for name in names[: 8 if "P" in weights else 7]]
    while inputs[-1] == "":
        inputs.pop()
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, inputs, outputs, name=f"the_{op.lower()}", hidden_size=H,
                            layout=layout, **attributes)
    rank = {"sequence_lens": 1, "Y": 4}
    value = lambda name, kind=TensorProto.FLOAT: helper.make_tensor_value_info(  # noqa: E731
        name, kind, [f"{name}_{k}" for k in range(rank.get(name, 3))])
    graph_inputs = [value(name, TensorProto.INT32 if name == "sequence_lens" else TensorProto.FLOAT)
                    for name in ["X", *optional]]
    graph = helper.make_graph(
        [node], "one_node", graph_inputs, [value(o) for o in outputs],
        initializer=[numpy_helper.from_array(w, name) for name, w in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    model.ir_version = 10
    if check:
        onnx.checker.check_model(model)
    return model


def random_case(rng, op, direction, layout, peepholes, optional):
    """Weights (W, R, B[, P]) and feeds for a node of ``layout``."""
    dirs = 2 if direction == "bidirectional" else 1
    G = GATES[op] * H
    weights = {"W": rng.standard_normal((dirs, G, D)), "R": rng.standard_normal((dirs, G, H)) * 0.6,
               "B": rng.standard_normal((dirs, 2 * G)) * 0.5}
    if peepholes:
        weights["P"] = rng.standard_normal((dirs, 3 * H))
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    X = rng.standard_normal((N, T, D) if layout else (T, N, D)).astype(np.float32)
    feeds = {"X": X}
    lengths = np.array([T, 3, 0], np.int32)  # full, partial, empty
    state_shape = (N, dirs, H) if layout else (dirs, N, H)
    if "sequence_lens" in optional:
        feeds["sequence_lens"] = lengths
    for name in ("initial_h", "initial_c"):
        if name in optional:
            feeds[name] = rng.standard_normal(state_shape).astype(np.float32)
    return weights, feeds


def run_both(op, attributes, direction="forward", layout=0, peepholes=False,
             optional=(), seed=0):
    """-> (rnnlab's outputs, ONNX Runtime's). ONNX Runtime runs layout 0 only, so a
    layout-1 node is checked against the layout-0 node on the transposed arrays (layout
    1 swaps the first two axes of X, initial_h, initial_c, Y_h, Y_c and makes Y
    (N, T, dirs, H))."""
    import onnxruntime

    rng = np.random.default_rng(seed)
    weights, feeds = random_case(rng, op, direction, 0, peepholes, optional)
    dirs = 2 if direction == "bidirectional" else 1
    attributes = {k: v * dirs if k.startswith("activation") else v for k, v in attributes.items()}
    attributes = dict(attributes, direction=direction)
    session = onnxruntime.InferenceSession(
        node_model(op, weights, attributes, 0, optional).SerializeToString(),
        providers=["CPUExecutionProvider"])
    theirs = session.run(None, feeds)
    node = RecurrentNode.of(node_model(op, weights, attributes, layout, optional).graph.node[0],
                            weights)
    if layout:
        feeds = {k: v if k == "sequence_lens" else np.swapaxes(v, 0, 1) for k, v in feeds.items()}
        theirs = [np.transpose(theirs[0], (2, 0, 1, 3))] + [np.swapaxes(s, 0, 1) for s in theirs[1:]]
    ours = node.run(feeds["X"], feeds.get("sequence_lens"), feeds.get("initial_h"),
                    feeds.get("initial_c"))
    return ours, theirs


def assert_close(ours, theirs):
    assert len(ours) == len(theirs)
    for name, a, b in zip(("Y", "Y_h", "Y_c"), ours, theirs):
        assert a.shape == b.shape, name
        assert np.max(np.abs(a - b)) < TOLERANCE, (name, np.max(np.abs(a - b)))


DIRECTIONS = ("forward", "reverse", "bidirectional")
OPTIONALS = ((), ("sequence_lens",), ("initial_h",), ("sequence_lens", "initial_h", "initial_c"))
LSTM_ATTRIBUTES = [{}, {"clip": 0.8}, {"input_forget": 1}, {"input_forget": 1, "clip": 0.8},
                   {"activations": ["HardSigmoid", "Softsign", "Softplus"]},
                   {"activations": ["Sigmoid", "Elu", "ScaledTanh"], "activation_alpha": [0.9, 1.2],
                    "activation_beta": [0.8], "clip": 1.5},
                   {"activations": ["Sigmoid", "Tanh", "Relu"], "input_forget": 1}]
GRU_ATTRIBUTES = [{"linear_before_reset": 1}, {"linear_before_reset": 0}, {},
                  {"clip": 0.9}, {"clip": 0.9, "linear_before_reset": 1},
                  {"activations": ["HardSigmoid", "Softsign"], "activation_alpha": [0.3],
                   "activation_beta": [0.45], "linear_before_reset": 1},
                  {"activations": ["HardSigmoid", "LeakyRelu"], "activation_alpha": [0.25, 0.2],
                   "activation_beta": [0.55]}]  # alphas taken in order: HardSigmoid, LeakyRelu
RNN_ATTRIBUTES = [{}, {"activations": ["Relu"]}, {"activations": ["Tanh"]}, {"clip": 0.9},
                  {"activations": ["Sigmoid"]}, {"activations": ["Softsign"], "clip": 1.2},
                  {"activations": ["Softplus"]}, {"activations": ["Elu"], "activation_alpha": [0.8]},
                  {"activations": ["LeakyRelu"], "activation_alpha": [0.3]},
                  {"activations": ["ThresholdedRelu"], "activation_alpha": [0.2]},
                  {"activations": ["ScaledTanh"], "activation_alpha": [1.5], "activation_beta": [0.7]},
                  {"activations": ["HardSigmoid"]},
                  {"activations": ["Affine"], "activation_alpha": [0.6], "activation_beta": [0.1]}]


@pytest.mark.parametrize("direction,layout,optional", list(itertools.product(DIRECTIONS, (0, 1), OPTIONALS)))
@pytest.mark.parametrize("attributes,peepholes", [(a, p) for a in LSTM_ATTRIBUTES for p in (False, True)])
def test_lstm_nodes_import_and_run_as_onnx_runtime(attributes, peepholes, direction, layout, optional):
    assert_close(*run_both("LSTM", attributes, direction, layout, peepholes, optional))


@pytest.mark.parametrize("direction,layout,optional", list(itertools.product(DIRECTIONS, (0, 1), OPTIONALS)))
@pytest.mark.parametrize("attributes", GRU_ATTRIBUTES)
def test_gru_nodes_import_and_run_as_onnx_runtime(attributes, direction, layout, optional):
    optional = tuple(o for o in optional if o != "initial_c")
    assert_close(*run_both("GRU", attributes, direction, layout, False, optional))


@pytest.mark.parametrize("direction,layout,optional", list(itertools.product(DIRECTIONS, (0, 1), OPTIONALS)))
@pytest.mark.parametrize("attributes", RNN_ATTRIBUTES)
def test_rnn_nodes_import_and_run_as_onnx_runtime(attributes, direction, layout, optional):
    optional = tuple(o for o in optional if o != "initial_c")
    assert_close(*run_both("RNN", attributes, direction, layout, False, optional))


@pytest.mark.parametrize("op,attributes,message", [
    ("LSTM", {"input_forget": 1, "activations": ["HardSigmoid", "Tanh", "Tanh"]},
     "input_forget=1 with activations=['HardSigmoid', 'Tanh', 'Tanh']"),
    ("GRU", {"direction": "bidirectional", "activations": ["Sigmoid", "Tanh", "Relu", "Tanh"]},
     "activations=['Sigmoid', 'Tanh', 'Relu', 'Tanh'] (rnnlab's directions share theirs"),
    ("RNN", {"activations": ["Swish"]}, "activations: 'swish' is not an ONNX activation"),
])
def test_what_rnnlab_cannot_represent_is_one_line_naming_the_node(op, attributes, message):
    rng = np.random.default_rng(0)
    weights, _ = random_case(rng, op, attributes.get("direction", "forward"), 0, False, ())
    model = node_model(op, weights, attributes, 0, (), check=False)
    with pytest.raises(OnnxImportError) as error:
        RecurrentNode.of(model.graph.node[0], weights)
    assert f"ONNX node 'the_{op.lower()}' ({op}): {message}" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_peephole_zero_in_one_direction_only_is_kept_in_both():
    """A zero peephole vector is no peephole only when it is zero in every direction: the
    two directions of an rnnlab Bidirectional share their options."""
    rng = np.random.default_rng(5)
    weights, feeds = random_case(rng, "LSTM", "bidirectional", 0, True, ("initial_h",))
    weights["P"][1, :H] = 0  # the backward direction has no input-gate peephole
    weights["P"][:, 2 * H :] = 0  # neither direction has a forget-gate peephole
    model = node_model("LSTM", weights, {"direction": "bidirectional"}, 0, ("initial_h",))
    node = RecurrentNode.of(model.graph.node[0], weights)
    assert [layer.peepholes for layer in node.layers] == [("i", "o")] * 2
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    assert_close(node.run(feeds["X"], initial_h=feeds["initial_h"]), session.run(None, feeds))
