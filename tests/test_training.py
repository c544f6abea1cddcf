"""The Solver: learning, exact resume in a new process, crash safety, corrupt
checkpoints, divergence, early stopping, logs and plots."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cells import model_variants

import rnnlab
from rnnlab.data import Vocab, split_ids
from rnnlab.files import load_safetensors, save_safetensors
from rnnlab.models import LanguageModel, Seq2Seq, SequenceClassifier
from rnnlab.train import (
    CheckpointError,
    Solver,
    TrainingError,
    read_checkpoint,
    read_log,
    write_checkpoint,
)
from rnnlab.viz import plot_history

HERE = Path(__file__).resolve().parent
SHARED_SHAKESPEARE = HERE.parents[1] / "shared" / "data" / "tinyshakespeare.txt"
WORKER = HERE / "training_worker.py"


def run_worker(*args, timeout=300):
    result = subprocess.run([sys.executable, str(WORKER), *map(str, args)], capture_output=True,
                            text=True, timeout=timeout, cwd=HERE)
    assert result.returncode == 0, result.stderr
    weights, _ = load_safetensors(args[3])
    return weights, json.loads(Path(f"{args[3]}.json").read_text())


def test_learning_works_on_tinyshakespeare():
    """Seed 0, 1-layer LSTM 256, batches 32 x 64, Adam 2e-3, 300 updates (about 25 s on
    2 cores): the validation loss must fall below 2.0 nats/char (1.86 measured)."""
    path = SHARED_SHAKESPEARE if SHARED_SHAKESPEARE.exists() else rnnlab.corpus_path()
    text = path.read_text(encoding="utf-8")
    vocab = Vocab.characters(text)
    train, val, _ = split_ids(vocab.encode(text))
    model = LanguageModel(len(vocab), embedding_dim=64, hidden_size=256, num_layers=1,
                          stateful=True, seed=0)
    solver = Solver(model, {"train": train, "val": val}, batch_size=32, seq_length=64,
                    learning_rate=2e-3, max_iterations=300, eval_every=300, eval_batches=25,
                    seed=0, verbose=False)
    iters, losses = solver.train()
    assert iters[-1] == 300 and losses[0] > 4.0  # about ln 67 = 4.2 at the start
    assert solver.val_history[-1][1] < 2.0, solver.val_history


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    """2k updates in one go equal k updates, a checkpoint, and k more in a new process:
    the same weights bit for bit and the same loss history (dropout, epoch boundaries,
    learning-rate decay and validation included)."""
    k = 50
    whole, whole_history = run_worker("fresh", tmp_path / "whole", 2 * k, tmp_path / "whole.st")
    run_worker("fresh", tmp_path / "split", k, tmp_path / "first.st")
    resumed, resumed_history = run_worker("resume", tmp_path / "split", 2 * k, tmp_path / "resumed.st")
    assert sorted(whole) == sorted(resumed)
    for name in whole:
        np.testing.assert_array_equal(whole[name], resumed[name], err_msg=name)
    assert whole_history == resumed_history
    assert len(whole_history["losses"]) == 2 * k


def test_sigkill_during_a_checkpoint_write_leaves_the_last_one_complete(tmp_path):
    """SIGKILL while a checkpoint's files lie in its temporary directory, not yet renamed
    into place (the worker stops there, so the kill lands mid-write every time)."""
    run = tmp_path / "run"
    stalled = tmp_path / "run.stalled"
    process = subprocess.Popen([sys.executable, str(WORKER), "fresh", str(run), "1000",
                                str(tmp_path / "never.st"), "--stall-in-write"], cwd=HERE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not stalled.exists() and process.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        assert stalled.exists(), process.stderr.read().decode() if process.poll() else "no stall in 120 s"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert list(run.glob(".ckpt-*.tmp-*")), "the write in progress left no temporary directory"
    checkpoint = read_checkpoint(run)  # the latest complete one
    assert checkpoint.state["iteration"] >= 1
    for name in ("model.safetensors", "config.json", "optimizer.safetensors", "state.json"):
        assert (checkpoint.path / name).stat().st_size > 0
    _, history = run_worker("resume", run, checkpoint.state["iteration"] + 1, tmp_path / "after.st")
    assert len(history["losses"]) == checkpoint.state["iteration"] + 1
    assert not list(run.glob(".ckpt-*.tmp-*"))  # the torn write is cleaned up


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("ckpt")
    run_worker("fresh", run, 3, run / "w.st")
    return read_checkpoint(run).path


def _copy(checkpoint_dir, tmp_path):
    import shutil
    target = tmp_path / "copy"
    shutil.copytree(checkpoint_dir, target)
    return target


@pytest.mark.parametrize("damage,message", [
    (lambda p: (p / "model.safetensors").write_bytes((p / "model.safetensors").read_bytes()[:-100]),
     r"model.safetensors: truncated"),
    (lambda p: (p / "config.json").write_text("{not json"), r"config.json: not valid JSON"),
    (lambda p: (p / "model.safetensors").unlink(), r"model.safetensors: missing"),
    (lambda p: _drop_weight(p, "embedding/W"), r"model.safetensors: missing weight 'embedding/W'"),
    (lambda p: _edit_config(p, hidden_size=25), r"model.safetensors: 'lstm/Wx' is float32 \(16, 96\), the model expects float32 \(16, 100\)"),
    (lambda p: _edit_config(p, cell="tree"), r"config.json: cannot rebuild the model \(cell: expected one of"),
    (lambda p: (p / "state.json").write_text("[1, 2"), r"state.json: not valid JSON"),
])
def test_a_damaged_checkpoint_gives_one_clear_error(checkpoint_dir, tmp_path, damage, message):
    """Damage with the manifest rewritten to match (a checkpoint made wrongly, not
    damaged later): the structural checks behind the checksums."""
    copy = _copy(checkpoint_dir, tmp_path)
    damage(copy)
    _rewrite_manifest(copy)
    with pytest.raises(CheckpointError, match=message) as error:
        read_checkpoint(copy)
    assert "\n" not in str(error.value)


def _rewrite_manifest(path):
    import hashlib
    files = {p.name: {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in path.iterdir() if p.name != "manifest.json"}
    (path / "manifest.json").write_text(json.dumps({"files": files}))


def _drop_weight(path, name):
    weights, _ = load_safetensors(path / "model.safetensors")
    del weights[name]
    save_safetensors(path / "model.safetensors", weights)


def _edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config["config"].update(changes)
    (path / "config.json").write_text(json.dumps(config))


def _char_data(text):
    vocab = Vocab.characters(text)
    return vocab, vocab.encode(text)


def test_divergence_aborts_with_a_clear_message():
    vocab, ids = _char_data(rnnlab.corpus_path().read_text(encoding="utf-8")[:20000])
    model = LanguageModel(len(vocab), embedding_dim=8, hidden_size=32, num_layers=1, seed=0)
    solver = Solver(model, {"train": ids}, batch_size=8, seq_length=16, learning_rate=50.0,
                    optimizer="sgd", grad_clip=None, verbose=False)
    with pytest.raises(TrainingError, match=r"(exceeds 3x its initial value|the loss is nan)"):
        solver.train()


def test_early_stopping_and_best_checkpoint(tmp_path):
    """Train on 'ab' repeated, validate on 'ba' backwards text: validation gets worse as
    training improves, so patience 2 stops the run and best stays at the first eval."""
    vocab = Vocab.characters("abc")
    train = vocab.encode("abc" * 2000)
    val = vocab.encode("cba" * 200)
    model = LanguageModel(len(vocab), embedding_dim=4, hidden_size=8, num_layers=1,
                          stateful=True, seed=0)
    solver = Solver(model, {"train": train, "val": val}, batch_size=4, seq_length=10,
                    num_epochs=50, learning_rate=1e-2, eval_every=20, patience=2,
                    checkpoint_dir=tmp_path, verbose=False)
    iters, _ = solver.train()
    assert solver.stopped_because == "no improvement in 2 evaluations"
    assert iters[-1] == 60 and solver.best_iteration == 20
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["checkpoint"] == "ckpt-00000020"
    assert read_checkpoint(tmp_path / best["checkpoint"]).state["iteration"] == 20


def test_log_lines_and_plot(tmp_path):
    vocab, ids = _char_data(rnnlab.corpus_path().read_text(encoding="utf-8")[:30000])
    train, val, _ = split_ids(ids)
    model = LanguageModel(len(vocab), embedding_dim=8, hidden_size=16, num_layers=1,
                          stateful=True, seed=0)
    solver = Solver(model, {"train": train, "val": val}, batch_size=8, seq_length=16,
                    num_epochs=2, print_every=10, log_path=tmp_path / "log.jsonl", verbose=False)
    solver.train()
    records = read_log(tmp_path / "log.jsonl")
    steps = [r for r in records if r["grad_norm"] is not None]
    evals = [r for r in records if r.get("val_loss") is not None]
    assert [r["iteration"] for r in steps] == list(range(10, 2 * len(solver.train_data) + 1, 10))
    assert len(evals) == 2  # one per epoch
    assert set(steps[0]) == {"iteration", "epoch", "train_loss", "lr", "grad_norm",
                             "grad_param_ratio", "tokens_per_s", "wall_time"}
    png = plot_history(tmp_path / "log.jsonl", tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_max_time_stops_and_learning_rate_decays_per_epoch():
    vocab, ids = _char_data(rnnlab.corpus_path().read_text(encoding="utf-8")[:8000])
    model = LanguageModel(len(vocab), embedding_dim=8, hidden_size=16, num_layers=1, seed=0)
    solver = Solver(model, {"train": ids}, batch_size=8, seq_length=16, num_epochs=1000,
                    learning_rate=1e-2, learning_rate_decay=0.5, max_time=1.0, verbose=False)
    start = time.perf_counter()
    solver.train()
    assert time.perf_counter() - start < 5 and solver.stopped_because == "max_time (1.0 s)"
    assert solver.optimizer.learning_rate == pytest.approx(1e-2 * 0.5 ** solver.epoch)


def test_the_solver_trains_a_classifier_and_a_seq2seq_from_padded_columns():
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, 6, size=rng.integers(2, 9))) for _ in range(200)]
    labels = np.array([int(3 in s) for s in seqs])  # does the sequence contain a 3?
    clf = SequenceClassifier(2, vocab_size=6, embedding_dim=8, hidden_size=16, seed=0)
    Solver(clf, {"train": (seqs, labels)}, batch_size=20, num_epochs=30, learning_rate=1e-2,
           verbose=False).train()
    from rnnlab.data import PaddedBatches
    x, y = next(PaddedBatches((seqs, labels), 200).batches())
    assert np.mean(clf.predict(x) == y) > 0.95
    targets = [[1] + s[::-1] + [2] for s in seqs]  # reverse the sequence
    s2s = Seq2Seq(6, 6, embedding_dim=8, hidden_size=32, seed=0)
    solver = Solver(s2s, {"train": (seqs, targets)}, batch_size=20, num_epochs=3,
                    learning_rate=1e-2, verbose=False)
    _, losses = solver.train()
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_bad_settings_are_named():
    model = LanguageModel(5, embedding_dim=2, hidden_size=2, num_layers=1)
    with pytest.raises(ValueError, match=r"data: expected a 'train' entry, got keys \['val'\]"):
        Solver(model, {"val": np.arange(100)})
    with pytest.raises(ValueError, match=r"num_epochs: expected a positive integer, got 0"):
        Solver(model, {"train": np.arange(100) % 5}, num_epochs=0)
    with pytest.raises(ValueError, match=r"optimizer: expected one of"):
        Solver(model, {"train": np.arange(100) % 5}, batch_size=2, seq_length=2, optimizer="lbfgs")


@pytest.mark.parametrize("cell,options", model_variants())
def test_every_registered_cell_round_trips_through_a_checkpoint(tmp_path, cell, options):
    model = LanguageModel(9, embedding_dim=4, hidden_size=6, num_layers=2, cell=cell, seed=3,
                          **options)
    ids = np.random.default_rng(0).integers(9, size=(2, 5))
    loaded = read_checkpoint(write_checkpoint(tmp_path / "ckpt", model)).model
    with model.inference(), loaded.inference():
        np.testing.assert_array_equal(loaded.forward(ids), model.forward(ids))


def test_solver_evaluates_the_split_it_is_asked_for():
    ids = np.random.default_rng(0).integers(0, 7, 600)
    model = LanguageModel(7, embedding_dim=4, hidden_size=5, num_layers=1, stateful=True, seed=0)
    solver = Solver(model, {"train": ids[:400], "val": ids[400:]}, batch_size=2, seq_length=10,
                    verbose=False)
    assert solver.evaluate("val") != solver.evaluate("train")
    with pytest.raises(ValueError, match="split: expected 'val' or 'train', got 'test'"):
        solver.evaluate("test")


def test_a_checkpoint_of_format_1_without_checksums_still_loads(checkpoint_dir, tmp_path):
    copy = _copy(checkpoint_dir, tmp_path)
    (copy / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="manifest.json: missing"):
        read_checkpoint(copy)
    config = json.loads((copy / "config.json").read_text())
    config["format_version"] = 1  # as rnnlab wrote checkpoints before checksums
    (copy / "config.json").write_text(json.dumps(config))
    loaded = read_checkpoint(copy)
    assert loaded.state is not None
    for name, weight in read_checkpoint(checkpoint_dir).model.params.items():
        np.testing.assert_array_equal(loaded.model.params[name], weight)
