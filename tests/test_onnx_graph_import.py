"""Whole ONNX graphs into rnnlab models: PyTorch's own exports (TorchScript-based, and
the dynamo exporter where its graph keeps the recurrent node) of nn.LSTM / nn.GRU /
nn.RNN and of an Embedding -> LSTM -> Linear language model, and rnnlab's exports read
back; outputs against PyTorch and ONNX Runtime on the same random weights, float32."""
import io
import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from rnnlab.interop import export_onnx, from_onnx, run_onnx
from rnnlab.interop.onnx_node import OnnxImportError
from rnnlab.layers import GRU, LSTM, Bidirectional, Dense, SimpleRNN
from rnnlab.models import LanguageModel, Sequential

N, T, D, H = 3, 7, 5, 6
TOLERANCE = 1e-5
pytestmark = pytest.mark.oracle
MODULES = [
    (torch.nn.LSTM, dict(num_layers=1)),
    (torch.nn.LSTM, dict(num_layers=2, bidirectional=True, batch_first=True)),
    (torch.nn.GRU, dict(num_layers=2, bidirectional=True)),
    (torch.nn.GRU, dict(num_layers=1, batch_first=True)),
    (torch.nn.RNN, dict(num_layers=2, nonlinearity="relu", batch_first=True)),
    (torch.nn.RNN, dict(num_layers=1, bidirectional=True)),
]


def torch_onnx(module, x, dynamo=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            return torch.onnx.export(module, (x,), dynamo=True, verbose=False).model_proto
        buffer = io.BytesIO()
        torch.onnx.export(module, (x,), buffer, dynamo=False)
        return buffer.getvalue()


def compare_with_torch(module, kw, dynamo=False):
    torch.manual_seed(0)
    batch_first = kw.get("batch_first", False)
    x = torch.randn(N, T, D) if batch_first else torch.randn(T, N, D)
    model = from_onnx(torch_onnx(module, x, dynamo))
    expected = module(x)[0].detach().numpy()
    x = x.numpy() if batch_first else x.numpy().swapaxes(0, 1)  # rnnlab reads batch-first
    ours = model.forward(x)
    ours = ours if batch_first else ours.swapaxes(0, 1)
    assert np.max(np.abs(ours - expected)) < TOLERANCE
    return model


@pytest.mark.parametrize("kind,kw", MODULES, ids=lambda v: getattr(v, "__name__", None) or
                         "-".join(f"{k}={w}" for k, w in v.items()))
def test_torch_onnx_exports_of_recurrent_modules_import(kind, kw):
    module = kind(D, H, **kw)
    model = compare_with_torch(module, kw)
    expected = Bidirectional if kw.get("bidirectional") else {torch.nn.LSTM: LSTM, torch.nn.GRU: GRU,
                                                               torch.nn.RNN: SimpleRNN}[kind]
    assert [type(layer) for layer in model.layers] == [expected] * kw["num_layers"]


@pytest.mark.parametrize("kind", [torch.nn.LSTM, torch.nn.GRU])
def test_the_dynamo_exporters_graphs_import_where_they_keep_the_node(kind):
    pytest.importorskip("onnxscript")
    compare_with_torch(kind(D, H, num_layers=2, bidirectional=True), {}, dynamo=True)


def test_the_dynamo_exporters_unrolled_rnn_is_refused_in_one_line():
    pytest.importorskip("onnxscript")
    proto = torch_onnx(torch.nn.RNN(D, H), torch.randn(T, N, D), dynamo=True)
    with pytest.raises(OnnxImportError, match=r"^ONNX node '.*' \(\w+\): not an operator of the "
                                              r"models rnnlab reads"):
        from_onnx(proto)


class TorchLanguageModel(torch.nn.Module):
    def __init__(self, V=11, E=5, H=6):
        super().__init__()
        self.encoder, self.rnn = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, 2, batch_first=True)
        self.decoder = torch.nn.Linear(H, V)

    def forward(self, ids):
        return self.decoder(self.rnn(self.encoder(ids))[0])


def test_a_torch_language_model_imports_as_a_sequential():
    torch.manual_seed(0)
    module = TorchLanguageModel()
    ids = torch.randint(0, 11, (N, T))
    model = from_onnx(torch_onnx(module, ids))
    assert isinstance(model, Sequential)
    expected = module(ids).detach().numpy()
    assert np.max(np.abs(model.forward(ids.numpy()) - expected)) < TOLERANCE


@pytest.mark.parametrize("cell,options", [("lstm", {}), ("gru", {"tie_weights": True}),
                                          ("rnn", {"num_layers": 1}),
                                          ("lstm", {"peepholes": ("f", "o"), "gate_clip": 3.0})])
def test_rnnlab_exports_read_back_as_the_language_model(cell, options):
    lm = LanguageModel(11, embedding_dim=6, hidden_size=6, cell=cell, seed=0, **options)
    ids = np.random.default_rng(0).integers(0, 11, (N, T))
    proto = export_onnx(lm)
    back = from_onnx(proto)
    assert isinstance(back, LanguageModel) and back.config == json.loads(json.dumps(lm.config))
    np.testing.assert_array_equal(back.forward(ids), lm.forward(ids))
    assert np.max(np.abs(run_onnx(proto, ids) - back.forward(ids))) < TOLERANCE


def test_an_exported_sequential_reads_back_with_each_layers_outputs():
    rng = np.random.default_rng(1)
    model = Sequential([Bidirectional(GRU(H, return_sequences=True, reset_after=False)),
                        LSTM(H), Dense(4, activation="tanh")], input_shape=(None, D), seed=0)
    for param in model.params.values():
        param[...] = rng.standard_normal(param.shape) * 0.5
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    back = from_onnx(export_onnx(model))
    assert [type(layer) for layer in back.layers] == [Bidirectional, LSTM, Dense]
    assert back.layers[1].return_sequences is False
    np.testing.assert_allclose(back.forward(x), model.forward(x), rtol=0, atol=1e-6)


def test_a_graph_started_from_a_state_given_as_input_is_refused_by_name():
    module = torch.nn.GRU(D, H)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buffer = io.BytesIO()
        torch.onnx.export(module, (torch.randn(T, N, D), torch.randn(1, N, H)), buffer,
                          dynamo=False, input_names=["x", "h0"])
    with pytest.raises(OnnxImportError, match="the graph has 2 inputs"):
        from_onnx(buffer.getvalue())


def test_every_cell_option_onnx_has_round_trips_through_onnx_runtime():
    """Activations (with alpha and beta), clip on all three cells, peepholes: rnnlab ->
    ONNX -> ONNX Runtime and -> rnnlab again, on random weights."""
    rng = np.random.default_rng(2)
    model = Sequential([
        LSTM(H, return_sequences=True, recurrent_activation="hard_sigmoid", activation="softsign",
             output_activation=("scaledtanh", 1.2, 0.8), gate_clip=2.0, peepholes=("i", "o")),
        Bidirectional(GRU(H, return_sequences=True, activation=("elu", 0.7),
                          recurrent_activation="keras2_hard_sigmoid", gate_clip=1.5)),
        SimpleRNN(H, activation=("leakyrelu", 0.2), gate_clip=1.0)], input_shape=(None, D), seed=0)
    for param in model.params.values():
        param[...] = rng.standard_normal(param.shape)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    proto = export_onnx(model)
    expected = model.forward(x)
    assert np.max(np.abs(run_onnx(proto, x) - expected)) < TOLERANCE
    back = from_onnx(proto)
    as_float32 = lambda v: float(np.float32(v)) if isinstance(v, float) else (  # noqa: E731
        [as_float32(u) for u in v] if isinstance(v, (list, tuple)) else v)  # ONNX's attributes
    assert [{k: as_float32(v) for k, v in layer.options_in_use().items()} for layer in back.layers[::2]] \
        == [{k: as_float32(v) for k, v in layer.options_in_use().items()} for layer in model.layers[::2]]
    np.testing.assert_array_equal(back.forward(x), expected)
