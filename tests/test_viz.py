"""Looking inside a language model: activations, gate saturation, pattern search, the
HTML page of `rnnlab inspect`, and that page in a real headless browser."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.data import Vocab
from rnnlab.layers import Recurrent
from rnnlab.models.stack import CELLS
from rnnlab.models import LanguageModel
from rnnlab.train import Solver
from rnnlab.viz import correlated_cells, page_data, pattern_indicator, render_page, saturation, trace
from rnnlab.viz.activations import LayerTrace, Trace

HERE = Path(__file__).resolve().parent
TEXT = 'He said, "to be (or not) to be"; she said "no".\n' * 30
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small character model trained for a few seconds, saved as a run directory."""
    vocab = Vocab.characters(TEXT)
    ids = vocab.encode(TEXT)
    model = LanguageModel(len(vocab), embedding_dim=8, hidden_size=16, num_layers=2, stateful=True, seed=0)
    out = tmp_path_factory.mktemp("viz") / "run"
    Solver(model, {"train": ids}, batch_size=4, seq_length=32, num_epochs=3, checkpoint_dir=out,
           vocab=vocab, verbose=False).train()
    return out, model, vocab


def test_trace_records_states_cells_gates_and_predictions(checkpoint):
    _, model, vocab = checkpoint
    ids = vocab.encode(TEXT[:120])
    result = trace(model, ids)
    assert [layer.name for layer in result.layers] == ["lstm", "lstm_1"]
    first = result.layers[0]
    assert first.h.shape == first.cell.shape == (120, 16)
    assert set(first.gates) == {"i", "f", "o", "g"}
    for name in "ifo":
        assert 0 <= first.gates[name].min() and first.gates[name].max() <= 1
    np.testing.assert_allclose(first.h, first.gates["o"] * first.cell, atol=1e-6)  # h = o tanh(c)
    np.testing.assert_allclose(result.probs.sum(axis=1), 1, atol=1e-9)
    with model.inference():  # the same predictions as the model's own forward
        model.reset_states()
        scores = model.forward(ids[None])[0]
    assert np.argmax(scores, 1).tolist() == np.argmax(result.probs, 1).tolist()


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_is_traced_with_the_gates_its_layer_names(cell):
    """Each recurrent layer says what it is (gate names, what to trace); a depth-gated
    stack gives one trace per level."""
    model = LanguageModel(9, embedding_dim=4, hidden_size=8, num_layers=2, cell=cell, seed=0)
    result = trace(model, np.arange(1, 7))
    recurrent = [layer for layer in model.layers if isinstance(layer, Recurrent)]
    assert len(result.layers) == sum(len(layer.traced_caches()) for layer in recurrent) == 2
    for layer_trace in result.layers:
        assert layer_trace.h.shape == (6, 8)
        assert tuple(layer_trace.gates) == recurrent[0].gate_names
        assert all(values.shape == (6, 8) for values in layer_trace.gates.values())
    rows = saturation(result)
    assert {gate for _, gate, _, _ in rows} == set(recurrent[0].gate_names) - set(recurrent[0].candidate_gates)


def test_saturation_fractions():
    i = np.array([[0.05, 0.5], [0.95, 0.5], [0.05, 0.99], [0.5, 0.99]])
    layer = LayerTrace("lstm", np.zeros((4, 2)), gates={"i": i, "g": np.zeros((4, 2))},
                       candidates=("g",))
    [(name, gate, left, right)] = saturation(Trace(np.zeros(4, int), [layer], np.ones((4, 1))))
    assert (name, gate) == ("lstm", "i")
    np.testing.assert_allclose(left, [0.5, 0.0])
    np.testing.assert_allclose(right, [0.25, 0.5])


def test_pattern_search_finds_the_cell_that_follows_it(rng):
    tokens = list('a "quoted" b "c"')
    inside = pattern_indicator(tokens, r'"[^"]*"')
    assert inside.tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    h = rng.standard_normal((len(tokens), 6))
    h[:, 4] = inside * 0.8 - 0.1  # cell 4 is a quote detector
    layer = LayerTrace("lstm", h)
    [(name, quantity, cell, r)] = correlated_cells(Trace(np.zeros(len(tokens)), [layer], None), inside, top=1)
    assert (name, quantity, cell) == ("lstm", "h", 4) and r == pytest.approx(1.0)


def test_page_is_self_contained(checkpoint):
    _, model, vocab = checkpoint
    result = trace(model, vocab.encode(TEXT[:200]))
    page = render_page(page_data(result, lambda i: vocab.decode([i]), "test </script> page"))
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from the network
    payload = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S).group(1)
    data = json.loads(payload)
    assert len(data["tokens"]) == 200 and len(data["predictions"][0]) == 5
    assert [len(layer["values"]["tanh(c)"]) for layer in data["layers"]] == [16, 16]


def rnnlab_cmd(*args):
    return subprocess.run([sys.executable, "-m", "rnnlab.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_inspect_command_writes_the_page_and_the_gate_plot(checkpoint, tmp_path):
    run, _, _ = checkpoint
    text = tmp_path / "text.txt"
    text.write_text(TEXT)
    page, gates = tmp_path / "page.html", tmp_path / "gates.png"
    result = rnnlab_cmd("inspect", run, "--text", text, "--length", "300", "--out", page,
                        "--gates-png", gates)
    assert result.returncode == 0, result.stderr
    assert page.read_text().startswith("<!DOCTYPE html>") and gates.read_bytes()[:4] == b"\x89PNG"
    bad = rnnlab_cmd("inspect", run, "--prime", "naïve ☃", "--out", tmp_path / "x.html")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "'ï', '☃'" in bad.stderr
    assert not (tmp_path / "x.html").exists()


def chromium(*args, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs "
                    "Debian's chromium package; apt-get install chromium)")
def test_page_in_headless_chromium(checkpoint, tmp_path):
    """The page loads with no console error and the cell picker recolours the text (the
    page's #selftest changes the picker with a change event, as a user would)."""
    run, _, _ = checkpoint
    page = tmp_path / "page.html"
    source = ["--prime", TEXT[:400]]
    if os.environ.get("RNNLAB_INSPECT_CHECKPOINT"):  # the README's picture: a real model
        run, source = os.environ["RNNLAB_INSPECT_CHECKPOINT"], ["--length", "1200"]
    made = rnnlab_cmd("inspect", run, *source, "--out", page)
    assert made.returncode == 0, made.stderr
    result = chromium("--virtual-time-budget=5000", "--dump-dom", f"{page.as_uri()}#selftest",
                      tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    console_errors = [line for line in result.stderr.splitlines()
                      if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    assert not console_errors, console_errors
    report = re.search(r'<pre id="selftest">(.*?)</pre>', result.stdout, re.S)
    assert report and report.group(1), result.stdout[-2000:]
    state = json.loads(report.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert state["errors"] == []
    assert state["before"] != state["after"] and all(state["before"] + state["after"])
    assert state["matches"] == 10
    screenshot = tmp_path / "inspect.png"
    view = os.environ.get("RNNLAB_INSPECT_VIEW", "layer=0&cell=1")  # e.g. layer=0&cell=89
    shot = chromium("--window-size=1100,760", "--hide-scrollbars", f"--screenshot={screenshot}",
                    f"{page.as_uri()}#{view}", tmp_path=tmp_path)
    assert shot.returncode == 0 and screenshot.read_bytes()[:4] == b"\x89PNG"
    if os.environ.get("RNNLAB_SCREENSHOT"):  # refresh the README's picture
        shutil.copy(screenshot, os.environ["RNNLAB_SCREENSHOT"])
