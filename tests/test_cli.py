"""The ``rnnlab`` command as a user runs it: real subprocesses on real files."""
import json
import math
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rnnlab
import rnnlab.train
from rnnlab.models.stack import CELLS

from cli_helpers import PER_EPOCH, SHARED, SHAKESPEARE, TINY, assert_one_line_error, rnnlab_cmd


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A short real run on tinyshakespeare: 1 epoch capped at 4 s."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = rnnlab_cmd("train", SHAKESPEARE, *TINY, "--epochs", "1", "--max-time", "4",
                        "--out", out, "--sample-length", "80")
    assert result.returncode == 0, result.stderr
    assert f"checkpoint: {out}" in result.stdout and "log:" in result.stdout
    assert "plot:" in result.stdout and "sample (temperature 0.8):" in result.stdout
    return out


def test_train_writes_a_checkpoint_a_log_and_a_plot(run_dir):
    assert (run_dir / "latest.json").exists() and (run_dir / "loss.png").exists()
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert lines and all("train_loss" in r for r in lines)


def test_sample_streams_reproducible_text(run_dir):
    first = rnnlab_cmd("sample", run_dir, "--prime", "ROMEO:", "--length", "120", "--seed", "3")
    again = rnnlab_cmd("sample", run_dir, "--prime", "ROMEO:", "--length", "120", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert first.stdout.startswith("ROMEO:") and len(first.stdout) == len("ROMEO:") + 120 + 1
    other = rnnlab_cmd("sample", run_dir, "--length", "50", "--top-k", "5", "--top-p", "0.9",
                       "--temperature", "0.5", "--seed", "4")
    assert other.returncode == 0 and len(other.stdout) == 51


def test_eval_reports_loss_bits_and_perplexity(run_dir, tmp_path):
    text = tmp_path / "other.txt"
    text.write_text(SHAKESPEARE.read_text(encoding="utf-8")[-20000:] + "é")
    result = rnnlab_cmd("eval", run_dir, text)
    assert result.returncode == 0, result.stderr
    values = {line.split()[0]: float(line.split()[1]) for line in result.stdout.splitlines()[1:]}
    loss = values["loss"]
    assert 1.0 < loss < 4.2
    assert values["bits/char"] == pytest.approx(loss / math.log(2), abs=1e-4)
    assert values["perplexity"] == pytest.approx(math.exp(loss), rel=1e-3)
    assert "1 of them outside the vocabulary" in result.stdout
    assert f"{len(text.read_text()) - 1:,} chars evaluated" in result.stdout


def test_resume_continues_the_run(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = json.loads((copy / "latest.json").read_text())["checkpoint"]
    result = rnnlab_cmd("train", "--resume", copy, "--epochs", "1", "--max-time", "6",
                        "--sample-length", "0", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout
    after = json.loads((copy / "latest.json").read_text())["checkpoint"]
    assert after > before


def _ptb_slices(tmp_path):
    """The first lines of each Penn Treebank split: a few thousand words."""
    files = {}
    for split, lines in (("train", 400), ("valid", 120), ("test", 120)):
        source = SHARED / "ptb" / f"ptb.{split}.txt"
        if not source.exists():
            pytest.skip(f"{source} is not on this machine")
        files[split] = tmp_path / f"{split}.txt"
        files[split].write_text("".join(source.read_text().splitlines(keepends=True)[:lines]))
    return files


def test_word_level_training_on_penn_treebank_splits(tmp_path):
    files = _ptb_slices(tmp_path)
    out = tmp_path / "words"
    result = rnnlab_cmd("train", "--train", files["train"], "--valid", files["valid"],
                        "--test", files["test"], "--level", "word", *PER_EPOCH, "--epochs", "2",
                        "--optimizer", "sgd", "--lr", "1", "--sum-loss-over-time",
                        "--init-scale", "0.1", "--lr-decay", "0.5", "--decay-after", "1",
                        "--recurrent-bias", "--out", out, "--sample-length", "20")
    assert result.returncode == 0, result.stderr
    assert "word types" in result.stdout
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2 and all("perplexity" in line for line in epochs), result.stdout
    test_line = next(line for line in result.stdout.splitlines() if line.startswith("test:"))
    assert "perplexity" in test_line and str(files["test"]) in test_line
    settings = json.loads((out / "settings.json").read_text())
    assert settings["optimizer"] == "sgd" and settings["loss_sum_over_time"] is True
    assert "lstm/b_h" in rnnlab.train.read_checkpoint(out).model.params
    sampled = rnnlab_cmd("sample", out, "--prime", "the company", "--length", "10", "--seed", "0")
    assert sampled.returncode == 0 and sampled.stdout.startswith("the company")
    unknown = rnnlab_cmd("sample", out, "--prime", "the zyzzyva", "--length", "5", "--seed", "0")
    assert unknown.returncode == 0, unknown.stderr
    assert "read as <unk>: 'zyzzyva'" in unknown.stderr


def test_eval_perplexity_is_exp_of_the_mean_nll_computed_independently(tmp_path):
    """rnnlab eval's figures against a sum of -log p over every word after the first,
    computed here one row at a time (the last row running to the end of the file) with
    the model's own step function and a log-softmax written in the test."""
    files = _ptb_slices(tmp_path)
    out = tmp_path / "words"
    trained = rnnlab_cmd("train", "--train", files["train"], "--valid", files["valid"],
                         "--level", "word", *TINY, "--epochs", "1", "--out", out,
                         "--sample-length", "0")
    assert trained.returncode == 0, trained.stderr
    N, M = 3, 25
    result = rnnlab_cmd("eval", out, files["test"], "--batch-size", N, "--seq-length", M)
    assert result.returncode == 0, result.stderr
    reported = {line.split()[0]: float(line.split()[1]) for line in result.stdout.splitlines()[1:]}

    checkpoint = rnnlab.train.read_checkpoint(out)
    model, vocab = checkpoint.model, checkpoint.vocab
    ids = vocab.encode(files["test"].read_text())
    count = len(ids) - 1
    L = count // N  # predictions per row
    assert count % N != 0  # the file's tail continues the last row
    nll = []
    for n in range(N):
        end = count if n == N - 1 else (n + 1) * L
        with model.inference():
            scores, _ = model.forward_from(ids[None, n * L : end], None)
        scores = scores[0].astype(np.float64)
        logz = np.log(np.exp(scores - scores.max(1, keepdims=True)).sum(1)) + scores.max(1)
        targets = ids[n * L + 1 : end + 1]
        nll.extend(logz - scores[np.arange(end - n * L), targets])
    assert len(nll) == count
    assert f"{count:,} words evaluated" in result.stdout
    mean = float(np.mean(nll))
    assert reported["loss"] == pytest.approx(mean, abs=2e-4)
    assert reported["perplexity"] == pytest.approx(math.exp(mean), rel=5e-4)


def _bad_inputs(tmp, run_dir):
    (tmp / "empty.txt").write_text("")
    (tmp / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp / "latin1.txt").write_bytes("déjà vu ".encode("latin-1") * 100)
    (tmp / "short.txt").write_text("To be, or not to be.\n")
    (tmp / "afile").write_text("x")
    (tmp / "zero.json").write_text('{"hidden_size": 0}')
    (tmp / "typo.json").write_text('{"hiden_size": 64}')
    other = tmp / "other_run"
    shutil.copytree(run_dir, other)
    corrupt = tmp / "corrupt_run"
    shutil.copytree(run_dir, corrupt)
    for ckpt in corrupt.glob("ckpt-*"):
        (ckpt / "model.safetensors").write_bytes(b"\x00" * 5)
    s = str(SHAKESPEARE)
    return [
        (["train", tmp / "missing.txt"], ["missing.txt: no such file"]),
        (["train", tmp], ["is a directory"]),
        (["train", tmp / "empty.txt"], ["empty.txt: is empty"]),
        (["train", tmp / "binary.bin"], ["binary.bin: holds NUL bytes (the first at offset 0)"]),
        (["train", tmp / "latin1.txt"], ["latin1.txt: not UTF-8 text (byte 0xe9 at offset 1)"]),
        (["train", tmp / "short.txt"], ["short.txt", "cannot fill one batch", "--batch-size"]),
        (["train", s, "--hidden-units", "5"], ["unrecognized arguments: --hidden-units 5"]),
        (["train", s, "--hidden-size", "0"], ["--hidden-size: expected a value in [1, inf], got 0"]),
        (["train", s, "--dropout", "1"], ["--dropout: expected a value in [0, 1), got 1"]),
        (["train", s, "--lr", "0"], ["--learning-rate: expected a value in (0, inf], got 0"]),
        (["train", s, "--out", tmp / "afile" / "sub"], ["--out", "not writable"]),
        (["train", s, "--config", tmp / "zero.json"], ["zero.json: hidden_size expected a value in [1, inf], got 0"]),
        (["train", s, "--config", tmp / "typo.json"], ["typo.json: unknown setting 'hiden_size'"]),
        (["train", s, "--out", other], ["already holds a training run", "--resume"]),
        (["train", s, "--cell", "gru", "--recurrent-bias"], ["--recurrent-bias: the gru cell has no second bias"]),
        (["train", "--resume", tmp / "nowhere"], ["--resume", "nowhere: no such checkpoint"]),
        (["train", "--resume", corrupt], ["--resume", "model.safetensors: damaged"]),
        (["sample", run_dir, "--temperature", "-1"], ["--temperature: expected a value in [0, inf], got -1"]),
        (["sample", run_dir, "--top-p", "1.5"], ["--top-p: expected a value in (0, 1], got 1.5"]),
        (["sample", run_dir, "--length", "-1"], ["--length: expected a value in [0, inf], got -1"]),
        (["sample", run_dir, "--prime", "naïve ☃"], ["--prime: characters not in the model's vocabulary: 'ï', '☃'"]),
        (["sample", tmp / "nowhere"], ["nowhere: no such checkpoint"]),
        (["eval", run_dir, tmp / "missing.txt"], ["missing.txt: no such file"]),
    ]


def test_every_bad_input_gets_one_line_and_changes_nothing(run_dir, tmp_path):
    cases = _bad_inputs(tmp_path, run_dir)
    snapshot = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    run_snapshot = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    for args, fragments in cases:
        result = rnnlab_cmd(*args, cwd=workdir, timeout=120)
        assert_one_line_error(result, *fragments)
        assert not any(workdir.iterdir()), f"{args} wrote {list(workdir.iterdir())}"
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == run_snapshot
    for path, mtime in snapshot.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} changed"


def test_a_reader_that_goes_away_ends_the_command_quietly(run_dir):
    """`rnnlab sample ... | head -c 1`: the closed pipe is no error."""
    process = subprocess.Popen([sys.executable, "-m", "rnnlab.cli.main", "sample", str(run_dir),
                                "--length", "100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(1)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, stderr
    assert stderr == ""


def test_help_of_each_command():
    for command in ("train", "sample", "eval", "inspect"):
        result = rnnlab_cmd(command, "--help")
        assert result.returncode == 0 and "example" in result.stdout


def test_ctrl_c_saves_a_checkpoint_that_resume_continues(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "rnnlab.cli.main", "train", str(SHAKESPEARE),
                                *TINY, "--epochs", "50", "--eval-every", "100000", "--out", str(out),
                                "--sample-length", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "log.jsonl").exists():
        time.sleep(0.05)
    while time.time() < deadline and not (out / "log.jsonl").read_text().strip():
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "stopped: interrupted" in stdout and "SIGINT: finishing this update" in stderr
    state = json.loads(next(out.glob("ckpt-*/state.json")).read_text())
    assert state["iteration"] >= 1
    resumed = rnnlab_cmd("train", "--resume", out, "--max-time", "2", "--sample-length", "0",
                         "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {out} at update {state['iteration']}" in resumed.stdout


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_registered_cell_trains_samples_and_is_inspected(tmp_path, cell):
    out = tmp_path / cell
    options = ["--hidden-size", "8"] if cell == "clockwork" else []
    trained = rnnlab_cmd("train", SHAKESPEARE, *TINY, *options, "--cell", cell, "--epochs", "1",
                         "--max-time", "1", "--out", out, "--sample-length", "20")
    assert trained.returncode == 0, trained.stderr
    assert f"x {cell} " in trained.stdout and "sample (temperature 0.8)" in trained.stdout
    sampled = rnnlab_cmd("sample", out, "--prime", "ROMEO:", "--length", "30", "--seed", "0")
    assert sampled.returncode == 0 and len(sampled.stdout) == len("ROMEO:") + 31, sampled.stderr
    page = tmp_path / "page.html"
    inspected = rnnlab_cmd("inspect", out, "--prime", "To be, or not to be", "--out", page)
    assert inspected.returncode == 0 and page.exists(), inspected.stderr


def test_a_bad_backend_variable_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_BACKEND", "fortran")
    out = tmp_path / "run"
    result = rnnlab_cmd("train", SHAKESPEARE, *TINY, "--epochs", "1", "--out", out)
    assert_one_line_error(result, "RNNLAB_BACKEND: expected one of onednn, numba, numpy, got 'fortran'")
    assert not out.exists()
