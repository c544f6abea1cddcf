"""Weights between frameworks: PyTorch modules both ways (outputs to 1e-10 in float64),
Keras .weights.h5 files (written here from known arrays in Keras's layout), and whole
models exported to ONNX and run in ONNX Runtime (to 1e-5)."""
import numpy as np
import pytest
from cells import model_variants
from conftest import TOLERANCES

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from rnnlab.interop import export_onnx, from_torch, load_keras_weights, run_onnx, to_torch  # noqa: E402
from rnnlab.layers import (  # noqa: E402
    GRU,
    LSTM,
    Bidirectional,
    ClockworkRNN,
    Dense,
    Dropout,
    Embedding,
    LayerNormLSTM,
    Recurrent,
    SimpleRNN,
    TimeDistributed,
)
from rnnlab.models import LanguageModel, Sequential  # noqa: E402
from rnnlab.testing import rel_error  # noqa: E402

pytestmark = pytest.mark.oracle
TORCH_TOLERANCE, ONNX_TOLERANCE = TOLERANCES["torch_float64"], TOLERANCES["onnx_float32"]
N, T, D, H = 3, 6, 5, 4
TORCH_MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN,
                 "rnn_relu": torch.nn.RNN}


def torch_module(kind, **options):
    if kind.startswith("rnn"):
        options["nonlinearity"] = kind[4:]
    torch.manual_seed(0)
    return TORCH_MODULES[kind](D, H, batch_first=True, **options).double()


def inference(model, x):
    with model.inference():
        return model.forward(x)


@pytest.mark.parametrize("options", [dict(num_layers=2), dict(num_layers=2, bidirectional=True),
                                     dict(bias=False)])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_from_torch_module_and_state_dict(rng, kind, options):
    module = torch_module(kind, **options)
    x = rng.standard_normal((N, T, D))
    expected = module(torch.tensor(x))[0].detach().numpy()
    model = Sequential(from_torch(module), dtype="float64")
    assert rel_error(inference(model, x), expected) < TORCH_TOLERANCE
    again = Sequential(from_torch({k: v.numpy() for k, v in module.state_dict().items()}, kind))
    assert rel_error(inference(again, x), expected) < TORCH_TOLERANCE


def test_from_torch_lstm_with_projection(rng):
    module = torch_module("lstm", num_layers=2, proj_size=3, bidirectional=True)
    x = rng.standard_normal((N, T, D))
    model = Sequential(from_torch(module), dtype="float64")
    assert rel_error(inference(model, x), module(torch.tensor(x))[0].detach().numpy()) < TORCH_TOLERANCE


def random_stack(rng, make, bidirectional, layers=2):
    stack = [make() for _ in range(layers)]
    stack = [Bidirectional(layer) if bidirectional else layer for layer in stack]
    model = Sequential(stack, input_shape=(None, D), dtype="float64", seed=0)
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape) * 0.5
    return model


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("make", [lambda: LSTM(H, return_sequences=True),
                                  lambda: LSTM(H, return_sequences=True, proj_size=2),
                                  lambda: GRU(H, return_sequences=True),
                                  lambda: SimpleRNN(H, activation="relu", return_sequences=True)],
                         ids=["lstm", "lstm-proj", "gru", "rnn-relu"])
def test_to_torch_computes_the_same(rng, make, bidirectional):
    model = random_stack(rng, make, bidirectional)
    x = rng.standard_normal((N, T, D))
    module = to_torch(model)
    assert module.num_layers == 2 and module.bidirectional == bidirectional
    theirs = module(torch.tensor(x))[0].detach().numpy()
    assert rel_error(theirs, inference(model, x)) < TORCH_TOLERANCE
    back = Sequential(from_torch(module), dtype="float64")  # the round trip
    for (name, a), b in zip(model.params.items(), back.params.values()):
        np.testing.assert_allclose(a, b, err_msg=name)


@pytest.mark.parametrize("kind", ["lstm", "rnn_tanh"])
def test_two_biases_round_trip_through_pytorch(rng, kind):
    module = torch_module(kind, num_layers=2, bidirectional=True)
    layers = from_torch(module, recurrent_bias=True)
    assert all(sub.recurrent_bias for layer in layers for sub in (layer.forward_layer, layer.backward_layer))
    x = rng.standard_normal((N, T, D))
    model = Sequential(layers, dtype="float64")
    assert rel_error(inference(model, x), module(torch.tensor(x))[0].detach().numpy()) < TORCH_TOLERANCE
    back = to_torch(model).state_dict()
    for name, value in module.state_dict().items():  # bias_ih and bias_hh each as they were
        np.testing.assert_array_equal(back[name].numpy(), value.numpy(), err_msg=name)


def test_sgd_with_two_biases_follows_pytorch_update_for_update(rng):
    """A language model with recurrent_bias=True trained by the Solver (SGD, loss summed
    over time, global-norm clipping) gives PyTorch's losses, update for update, from the
    same weights: nn.LSTM's bias_ih and bias_hh are b and b_h."""
    from rnnlab.train import Solver

    V, E, steps = 17, 6, 6
    model = LanguageModel(V, embedding_dim=E, hidden_size=E, num_layers=2, stateful=True,
                          dtype="float64", seed=0, init_scale=0.5, recurrent_bias=True)
    embedding, lstm = torch.nn.Embedding(V, E).double(), to_torch(model)
    out = torch.nn.Linear(E, V).double()
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(model.params["embedding/W"]))
        out.weight.copy_(torch.from_numpy(model.params["time_distributed/dense/W"].T))
        out.bias.copy_(torch.from_numpy(model.params["time_distributed/dense/b"]))
    ids = rng.integers(V, size=2 * 5 * steps + 1)
    solver = Solver(model, {"train": ids}, batch_size=2, seq_length=5, num_epochs=1,
                    optimizer="sgd", learning_rate=1.0, grad_clip=0.5, loss_sum_over_time=True,
                    verbose=False, print_every=1)
    solver.train()
    params = [*embedding.parameters(), *lstm.parameters(), *out.parameters()]
    optimizer, state, theirs = torch.optim.SGD(params, lr=1.0), None, []
    for x, y in solver.train_data.batches():
        h, state = lstm(embedding(torch.from_numpy(x)), state)
        state = tuple(s.detach() for s in state)
        loss = torch.nn.functional.cross_entropy(out(h).reshape(-1, V), torch.from_numpy(y).reshape(-1))
        optimizer.zero_grad()
        (loss * x.shape[1]).backward()
        norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
        for p in params:  # exactly (clip_grad_norm_ divides by norm + 1e-6)
            p.grad *= min(1.0, 0.5 / norm.item())
        optimizer.step()
        theirs.append(loss.item())
    assert len(solver.losses) == steps
    np.testing.assert_allclose(solver.losses, theirs, rtol=TORCH_TOLERANCE)
    assert rel_error(model.params["lstm/b_h"], lstm.bias_hh_l0.detach().numpy()[
        np.r_[0:2 * E, 3 * E:4 * E, 2 * E:3 * E]]) < TORCH_TOLERANCE  # torch i, f, g, o -> rnnlab i, f, o, g


@pytest.mark.parametrize("layer, message", [
    (LSTM(H, peepholes=("i", "f"), return_sequences=True),
     r"PyTorch's LSTM has no peepholes=\('i', 'f'\) \(rnnlab's lstm uses it\)"),
    (LSTM(H, cifg=True, gate_clip=2.0, return_sequences=True), "PyTorch's LSTM has no cifg=True, gate_clip=2.0"),
    (GRU(H, reset_after=False, return_sequences=True), "PyTorch's GRU has no reset_after=False"),
    (ClockworkRNN(H, periods=(1, 2), return_sequences=True),
     "PyTorch has no counterpart of rnnlab's ClockworkRNN"),
])
def test_to_torch_refuses_what_pytorch_lacks(layer, message):
    Sequential([layer], input_shape=(None, D))
    with pytest.raises(ValueError, match=message):
        to_torch(layer)


# -- Keras ------------------------------------------------------------------------------

def keras_lstm_step(x, h, c, kernel, recurrent, bias):
    """Keras's LSTMCell: columns i, f, c, o."""
    z = x @ kernel + h @ recurrent + bias
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    i, f, g, o = sig(z[:, :H]), sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sig(z[:, 3 * H:])
    c = f * c + i * g
    return o * np.tanh(c), c


def keras_gru_step(x, h, kernel, recurrent, bias):
    """Keras's GRUCell with reset_after=True: columns z, r, h; bias rows input, recurrent."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    xz = x @ kernel + bias[0]
    hz = h @ recurrent + bias[1]
    z = sig(xz[:, :H] + hz[:, :H])
    r = sig(xz[:, H:2 * H] + hz[:, H:2 * H])
    hh = np.tanh(xz[:, 2 * H:] + r * hz[:, 2 * H:])
    return z * h + (1 - z) * hh


def test_keras_weights_file_loads_with_gate_orders_converted(rng, tmp_path):
    h5py = pytest.importorskip("h5py")
    V, E = 11, D
    arrays = {
        "embedding": [rng.standard_normal((V, E))],
        "lstm": [rng.standard_normal((E, 4 * H)) * 0.5, rng.standard_normal((H, 4 * H)) * 0.5,
                 rng.standard_normal(4 * H) * 0.5],
        "bidirectional/forward_layer": [rng.standard_normal((H, 3 * H)) * 0.5,
                                        rng.standard_normal((H, 3 * H)) * 0.5,
                                        rng.standard_normal((2, 3 * H)) * 0.5],
        "bidirectional/backward_layer": [rng.standard_normal((H, 3 * H)) * 0.5,
                                         rng.standard_normal((H, 3 * H)) * 0.5,
                                         rng.standard_normal((2, 3 * H)) * 0.5],
        "dense": [rng.standard_normal((2 * H, V)), rng.standard_normal(V)],
    }
    path = tmp_path / "model.weights.h5"
    with h5py.File(path, "w") as f:  # Keras 3's layout: layers/<name>[/cell]/vars/<k>
        for name, values in arrays.items():
            cell = "/cell" if name.startswith(("lstm", "bidirectional")) else ""
            for k, value in enumerate(values):
                f[f"layers/{name}{cell}/vars/{k}"] = value
    model = Sequential([Embedding(V, E), LSTM(H, return_sequences=True, recurrent_bias=True),
                        Bidirectional(GRU(H, return_sequences=True)), Dropout(0.5),
                        TimeDistributed(Dense(V))], input_shape=(None,), dtype="float64")
    model.layers[1].params["b_h"][...] = 1.0  # Keras has one bias: loading zeroes b_h
    loaded = load_keras_weights(model, path, names={"time_distributed": "dense"})
    assert loaded == {"embedding": "embedding", "lstm": "lstm", "bidirectional": "bidirectional",
                      "time_distributed": "dense"}
    lstm = model.layers[1].params
    kernel = arrays["lstm"][0]
    np.testing.assert_array_equal(lstm["Wx"][:, 2 * H:3 * H], kernel[:, 3 * H:])  # o
    np.testing.assert_array_equal(lstm["Wx"][:, 3 * H:], kernel[:, 2 * H:3 * H])  # g = Keras c

    # the same numbers as Keras's own equations, step by step
    ids = rng.integers(V, size=(N, T))
    x = arrays["embedding"][0][ids]
    h, c = np.zeros((N, H)), np.zeros((N, H))
    lstm_out = []
    for t in range(T):
        h, c = keras_lstm_step(x[:, t], h, c, *arrays["lstm"])
        lstm_out.append(h)
    directions = []
    for name, steps in (("forward_layer", range(T)), ("backward_layer", reversed(range(T)))):
        h, out = np.zeros((N, H)), [None] * T
        for t in steps:
            h = keras_gru_step(lstm_out[t], h, *arrays[f"bidirectional/{name}"])
            out[t] = h
        directions.append(np.stack(out, 1))
    expected = np.concatenate(directions, -1) @ arrays["dense"][0] + arrays["dense"][1]
    assert rel_error(inference(model, ids), expected) < TORCH_TOLERANCE


def test_keras_weights_of_layers_without_bias_load(rng, tmp_path):
    """use_bias=False: the file holds kernel and recurrent_kernel only."""
    h5py = pytest.importorskip("h5py")
    kernel, recurrent = rng.standard_normal((D, 4 * H)) * 0.5, rng.standard_normal((H, 4 * H)) * 0.5
    gru_kernel, gru_recurrent = rng.standard_normal((H, 3 * H)) * 0.5, rng.standard_normal((H, 3 * H)) * 0.5
    path = tmp_path / "no-bias.weights.h5"
    with h5py.File(path, "w") as f:
        f["layers/lstm/cell/vars/0"], f["layers/lstm/cell/vars/1"] = kernel, recurrent
        f["layers/gru/cell/vars/0"], f["layers/gru/cell/vars/1"] = gru_kernel, gru_recurrent
    model = Sequential([LSTM(H, return_sequences=True), GRU(H, return_sequences=True)],
                       input_shape=(None, D), dtype="float64")
    for layer in model.layers:
        layer.params["b"][...] = 1.0  # must become zero
    load_keras_weights(model, path)
    x = rng.standard_normal((N, T, D))
    h, c, g, expected = np.zeros((N, H)), np.zeros((N, H)), np.zeros((N, H)), []
    for t in range(T):
        h, c = keras_lstm_step(x[:, t], h, c, kernel, recurrent, np.zeros(4 * H))
        g = keras_gru_step(h, g, gru_kernel, gru_recurrent, np.zeros((2, 3 * H)))
        expected.append(g)
    with model.inference():
        assert rel_error(model.forward(x), np.stack(expected, 1)) < TORCH_TOLERANCE


def test_keras_weights_errors_name_the_problem(rng, tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "gru.weights.h5"
    with h5py.File(path, "w") as f:
        for k, value in enumerate([np.zeros((D, 3 * H)), np.zeros((H, 3 * H)), np.zeros((2, 3 * H))]):
            f[f"layers/gru/cell/vars/{k}"] = value
    model = Sequential([GRU(H, reset_after=False)], input_shape=(None, D))
    with pytest.raises(ValueError, match="reset_after=True"):
        load_keras_weights(model, path)
    other = Sequential([LSTM(H)], input_shape=(None, D))
    with pytest.raises(ValueError, match=r"no Keras layer 'lstm'.*\['gru'\]"):
        load_keras_weights(other, path)


@pytest.mark.parametrize("options,named", [
    (dict(peepholes="if"), "peepholes"), (dict(cifg=True), "cifg"), (dict(proj_size=2), "proj_size"),
    (dict(cell_clip=3.0), "cell_clip"), (dict(layer_norm=True), "layer_norm")])
def test_keras_weights_refuse_lstm_options_keras_lacks(tmp_path, options, named):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "lstm.weights.h5"
    with h5py.File(path, "w") as f:
        for k, value in enumerate([np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)]):
            f[f"layers/lstm/cell/vars/{k}"] = value
    model = Sequential([LSTM(H, **options)], input_shape=(None, D))
    with pytest.raises(ValueError, match=f"Keras's LSTM has no {named}"):
        load_keras_weights(model, path)


# -- ONNX -------------------------------------------------------------------------------

def assert_onnx_agrees(model, x):
    proto = export_onnx(model)
    ours = inference(model, x)
    theirs = run_onnx(proto, x)
    assert theirs.shape == ours.shape
    assert np.abs(theirs - ours).max() < ONNX_TOLERANCE, np.abs(theirs - ours).max()


@pytest.mark.parametrize("cell, options", [
    ("lstm", {}), ("gru", {}), ("rnn", {}), ("lstm", dict(recurrent_bias=True)),
    ("rnn", dict(recurrent_bias=True))])
@pytest.mark.parametrize("tie_weights", [False, True])
def test_language_model_exports_to_onnx(rng, cell, options, tie_weights):
    model = LanguageModel(13, embedding_dim=6, hidden_size=6, num_layers=2, cell=cell,
                          dropout=0.3, tie_weights=tie_weights, seed=0, **options)
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape) * 0.5
    assert_onnx_agrees(model, rng.integers(13, size=(N, T)))


@pytest.mark.parametrize("make", [
    lambda: LSTM(H, return_sequences=True, peepholes=("i", "f", "o"), gate_clip=1.5),
    lambda: LSTM(H, return_sequences=True, cifg=True, peepholes=("f", "o")),
    lambda: GRU(H, return_sequences=True, reset_after=False),
    lambda: SimpleRNN(H, activation="relu", return_sequences=True),
], ids=["lstm-peepholes-clip", "lstm-cifg", "gru-reset-before", "rnn-relu"])
def test_bidirectional_stacks_export_to_onnx(rng, make):
    model = Sequential([Bidirectional(make()), Bidirectional(make()),
                        LSTM(H, return_sequences=False), Dense(2, activation="sigmoid")],
                       input_shape=(None, D), seed=0)
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape) * 0.5
    assert_onnx_agrees(model, rng.standard_normal((N, T, D)).astype(np.float32))


@pytest.mark.parametrize("layer, message", [
    (LayerNormLSTM(H), "ONNX has no counterpart of rnnlab's LayerNormLSTM"),
    (LSTM(H, proj_size=2), "ONNX's LSTM has no proj_size=2"),
    (LSTM(H, cell_clip=1.5, layer_norm=True), "ONNX's LSTM has no cell_clip=1.5, layer_norm=True"),
    (ClockworkRNN(H, periods=(1, 2)), "ONNX has no counterpart of rnnlab's ClockworkRNN"),
    (LSTM(H, go_backwards=True), "go_backwards alone"),
])
def test_onnx_export_refuses_what_onnx_lacks(layer, message):
    model = Sequential([layer], input_shape=(None, D))
    with pytest.raises(ValueError, match=message):
        export_onnx(model)


@pytest.mark.parametrize("cell,options", model_variants())
def test_every_registered_cell_exports_or_is_refused_by_name(cell, options, tmp_path):
    """ONNX and PyTorch take a language model of each cell exactly (ONNX Runtime and the
    module agree with rnnlab) or refuse it in one ValueError naming the layer."""
    model = LanguageModel(9, embedding_dim=4, hidden_size=6, num_layers=2, cell=cell, seed=0,
                          **options)
    ids = np.random.default_rng(0).integers(9, size=(2, 5))
    with model.inference():
        expected = model.forward(ids)
    layer_name = next(layer.name for layer in model.layers if isinstance(layer, Recurrent))
    try:
        proto = export_onnx(model)
    except ValueError as error:
        assert layer_name in str(error) and "\n" not in str(error)
    else:
        np.testing.assert_allclose(run_onnx(proto, ids), expected, rtol=1e-4, atol=1e-5)
    try:
        modules = to_torch(model)
    except ValueError as error:
        assert layer_name in str(error) and "\n" not in str(error)
    else:
        assert modules
