"""``rnnlab export``: the real command on a trained checkpoint, each file read back by
the framework it is for (ONNX Runtime, torch.load into PyTorch modules, rnnlab's Keras
reader), and ``rnnlab sample`` / ``inspect`` on the ONNX file."""
import numpy as np
import pytest
from cli_helpers import SHAKESPEARE, TINY, assert_one_line_error, rnnlab_cmd

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from rnnlab.interop import from_onnx, load_keras_weights, onnx_vocab, run_onnx
from rnnlab.models import LanguageModel
from rnnlab.train import read_checkpoint

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained for a few updates on 20 kB of Shakespeare (tied weights: a case
    Keras cannot hold)."""
    work = tmp_path_factory.mktemp("export")
    text = work / "text.txt"
    text.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:20000], encoding="utf-8")
    runs = {}
    for name, extra in (("plain", []), ("tied", ["--tie-weights", "--hidden-size", "8"])):
        result = rnnlab_cmd("train", text, "--out", work / name, "--max-time", "2",
                            "--sample-length", "0", *TINY, *extra)
        assert result.returncode == 0, result.stderr
        runs[name] = work / name
    return work, runs


def exported(trained, run, name):
    """``rnnlab export`` of the run into ``name`` -> (the file, the checkpoint, ids, the
    checkpoint model's scores on them)."""
    work, runs = trained
    out = work / name
    result = rnnlab_cmd("export", runs[run], out)
    assert result.returncode == 0, result.stderr
    checkpoint = read_checkpoint(runs[run])
    ids = np.random.default_rng(0).integers(0, len(checkpoint.vocab), (3, 7))
    return out, checkpoint, ids, checkpoint.model.eval().forward(ids)


def test_onnx_export_runs_on_onnx_runtime_and_samples_as_the_checkpoint(trained):
    work, runs = trained
    out, checkpoint, ids, scores = exported(trained, "plain", "model.onnx")
    assert np.max(np.abs(run_onnx(onnx.load(str(out)), ids) - scores)) < 1e-5
    assert isinstance(from_onnx(out), LanguageModel)
    assert onnx_vocab(out).tokens == checkpoint.vocab.tokens
    args = ["--length", "80", "--seed", "3", "--prime", "ROMEO:"]
    from_file, from_run = rnnlab_cmd("sample", out, *args), rnnlab_cmd("sample", runs["plain"], *args)
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout == from_run.stdout
    page = rnnlab_cmd("inspect", out, "--out", work / "page.html", "--length", "200")
    assert page.returncode == 0, page.stderr
    assert (work / "page.html").stat().st_size > 1000


@pytest.mark.parametrize("run", ["plain", "tied"])
def test_pt_export_is_a_state_dict_of_tensors_pytorch_modules_load(trained, run):
    out, checkpoint, ids, scores = exported(trained, run, f"{run}.pt")
    state = torch.load(out, weights_only=True)  # tensors only
    config = checkpoint.model.config
    V, E, H = config["vocab_size"], config["embedding_dim"], config["hidden_size"]
    encoder, decoder = torch.nn.Embedding(V, E), torch.nn.Linear(H, V)
    rnn = torch.nn.LSTM(E, H, config["num_layers"], batch_first=True)
    encoder.load_state_dict({"weight": state["encoder.weight"]})
    rnn.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("rnn.")})
    decoder.load_state_dict({"weight": state["decoder.weight"], "bias": state["decoder.bias"]})
    with torch.no_grad():
        theirs = decoder(rnn(encoder(torch.from_numpy(ids)))[0]).numpy()
    assert np.max(np.abs(theirs - scores)) < 1e-5


def test_keras_weights_export_reads_back(trained):
    out, checkpoint, ids, scores = exported(trained, "plain", "model.weights.h5")
    fresh = LanguageModel(**{**checkpoint.model.config, "seed": 123}).eval()  # built: no forward
    load_keras_weights(fresh, out)
    np.testing.assert_array_equal(fresh.forward(ids), scores)


@pytest.mark.parametrize("run,name,fragments", [
    ("tied", "model.weights.h5", ["Keras has no counterpart of rnnlab's TiedDense"]),
    ("plain", "model.txt", ["model.txt: expected a name ending in .onnx, .pt, .weights.h5"]),
])
def test_what_a_format_cannot_hold_is_one_line_and_no_file(trained, run, name, fragments):
    work, runs = trained
    out = work / "refused" / name
    out.parent.mkdir(exist_ok=True)
    assert_one_line_error(rnnlab_cmd("export", runs[run], out), *fragments)
    assert not list(out.parent.iterdir())


def test_a_file_that_is_not_onnx_is_one_line(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    assert_one_line_error(rnnlab_cmd("sample", bad), "bad.onnx: not an ONNX model")
