"""Runs never lose work and trust nothing blindly: the real ``rnnlab`` command killed,
stopped, run twice, fed damaged files and bad input."""
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rnnlab.train
from cli_helpers import PER_EPOCH, SHAKESPEARE, TINY, assert_one_line_error, rnnlab_cmd


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The first 60,000 characters of tinyshakespeare."""
    path = tmp_path_factory.mktemp("corpus") / "shakespeare.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("reliability") / "run"
    result = rnnlab_cmd("train", corpus, *TINY, "--epochs", "1", "--out", out, "--sample-length", "0")
    assert result.returncode == 0, result.stderr
    return out


def start(*args, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "rnnlab.cli.main", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)


def wait_for(condition, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out")


def logged_iterations(out):
    if not (out / "log.jsonl").exists():
        return []
    return [r["iteration"] for r in rnnlab.train.read_log(out / "log.jsonl")
            if r.get("grad_norm") is not None]


def latest_iteration(out):
    return rnnlab.train.read_checkpoint(out).state["iteration"]


# 1. periodic checkpoints ------------------------------------------------------------
def test_a_killed_run_keeps_its_periodic_checkpoints(tmp_path):
    """No validation before the kill (one epoch is far away: the whole of tinyshakespeare,
    about 7,800 updates; 60,000 characters made an epoch in 0.15 s on a fast machine): only
    --checkpoint-every and --checkpoint-minutes can have saved anything. The kill comes
    after 200 logged updates and a first complete checkpoint (a fast machine makes 200
    updates before --checkpoint-minutes' first 0.12 s have passed)."""
    for cadence in (["--checkpoint-every", "40"], ["--checkpoint-minutes", "0.002"]):
        out = tmp_path / cadence[0].strip("-")
        process = start("train", SHAKESPEARE, *PER_EPOCH, "--epochs", "50", *cadence, "--out", out,
                        "--sample-length", "0")
        wait_for(lambda: max(logged_iterations(out), default=0) >= 200
                 and rnnlab.train.checkpoint.checkpoint_names(out))
        process.kill()
        process.wait()
        assert not (out / "best.json").exists()
        assert latest_iteration(out) >= 100, cadence


# 2. SIGTERM -----------------------------------------------------------------------
def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path, corpus):
    out = tmp_path / "run"
    process = start("train", corpus, *PER_EPOCH, "--epochs", "50", "--out", out, "--sample-length", "0")
    wait_for(lambda: logged_iterations(out))
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "SIGTERM: finishing this update and saving a checkpoint" in stderr
    assert "stopped: interrupted" in stdout
    assert latest_iteration(out) >= max(logged_iterations(out))


# 3. divergence ----------------------------------------------------------------------
@pytest.mark.parametrize("options,fragment", [
    (["--lr", "1e30", "--epochs", "1"], "lower the learning rate (now 1e+30)"),
    (["--lr", "1e9", "--eval-every", "1"], "the validation loss is"),
])
def test_a_diverging_run_stops_in_one_line_and_saves_nothing(tmp_path, corpus, options, fragment):
    out = tmp_path / "run"
    result = rnnlab_cmd("train", "--train", corpus, "--valid", corpus, *PER_EPOCH, *options,
                        "--out", out)
    assert_one_line_error(result, fragment)
    assert not (out / "best.json").exists() and not list(out.glob("ckpt-*"))


def test_a_non_finite_validation_loss_is_never_the_best(tmp_path):
    from rnnlab.models import LanguageModel
    from rnnlab.train import Solver, TrainingError
    ids = np.random.default_rng(0).integers(0, 7, 2000)
    model = LanguageModel(7, embedding_dim=4, hidden_size=5, num_layers=1, stateful=True, seed=0)
    solver = Solver(model, {"train": ids, "val": ids[:400]}, batch_size=4, seq_length=10,
                    eval_every=2, checkpoint_dir=tmp_path, verbose=False)
    solver.evaluate = lambda split="val": float("nan")
    with pytest.raises(TrainingError, match="validation loss is nan"):
        solver.train()
    assert solver.best_val is None and not (tmp_path / "best.json").exists()


# 4. one trainer per run directory ------------------------------------------------------
def test_a_second_trainer_on_the_same_directory_is_refused(tmp_path, corpus):
    out = tmp_path / "run"
    first = start("train", corpus, *PER_EPOCH, "--epochs", "50", "--out", out, "--sample-length", "0")
    try:
        wait_for(lambda: logged_iterations(out))
        second = rnnlab_cmd("train", corpus, *PER_EPOCH, "--out", out)
        assert_one_line_error(second, f"--out {out}: in use by another rnnlab process (pid {first.pid})")
        resumed = rnnlab_cmd("train", "--resume", out)
        assert_one_line_error(resumed, f"(pid {first.pid})")
        assert first.poll() is None  # the first run goes on
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 143
    log = logged_iterations(out)
    assert log == sorted(set(log))


def test_resume_of_a_held_directory_without_a_checkpoint_yet_names_the_holder(tmp_path):
    # a run that has just started holds its directory before its first checkpoint
    from rnnlab.files.lock import lock_run_directory
    with lock_run_directory(tmp_path / "run"):
        resumed = rnnlab_cmd("train", "--resume", tmp_path / "run")
    assert_one_line_error(resumed, f"--resume {tmp_path / 'run'}: in use by another rnnlab process "
                                   f"(pid {os.getpid()})")


def test_a_lock_is_held_for_the_whole_with_block_and_released_after_it(tmp_path):
    from rnnlab.files.lock import lock_run_directory
    probe = [sys.executable, "-c", "import sys; from rnnlab.files.lock import lock_run_directory; "
             "lock_run_directory(sys.argv[1])", str(tmp_path)]
    with lock_run_directory(tmp_path):
        import gc
        gc.collect()  # no name holds the lock object: the with block must keep it
        held = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        assert held.returncode != 0 and f"(pid {os.getpid()})" in held.stderr
    assert subprocess.run(probe, capture_output=True, text=True, timeout=60).returncode == 0


# 5. checksums -----------------------------------------------------------------------
def test_a_flipped_byte_in_the_weights_is_refused_by_every_command(run_dir, tmp_path):
    import shutil
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    weights = rnnlab.train.checkpoint.resolve(copy) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-7] ^= 0x01
    weights.write_bytes(bytes(data))
    for args in (["sample", copy], ["eval", copy, SHAKESPEARE], ["inspect", copy, "--out", tmp_path / "p.html"],
                 ["train", "--resume", copy]):
        assert_one_line_error(rnnlab_cmd(*args), "model.safetensors: damaged", "sha256")


# 6. pointers --------------------------------------------------------------------------
def test_pointer_files_are_validated_and_never_lead_outside_the_run(run_dir, tmp_path):
    import shutil
    other = tmp_path / "other-run"
    shutil.copytree(run_dir, other)
    victim_files = sorted(p.name for p in other.iterdir())
    for pointer in ('{"checkpoint": 5}', '{"checkpoint": "../other-run/%s"}'
                    % rnnlab.train.checkpoint.checkpoint_names(other)[-1], "[1]"):
        run = tmp_path / "run"
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(run_dir, run)
        for name in rnnlab.train.checkpoint.checkpoint_names(run):
            shutil.rmtree(run / name)  # only the pointer is left to follow
        (run / "latest.json").write_text(pointer)
        for args in (["sample", run], ["train", "--resume", run, "--epochs", "3"]):
            result = rnnlab_cmd(*args)
            assert_one_line_error(result, "latest.json")
    assert sorted(p.name for p in other.iterdir()) == victim_files


# 7. honest resume ---------------------------------------------------------------------
@pytest.mark.parametrize("option,named", [
    (["--hidden-size", "512"], "--hidden-size"), (["--lr", "0.5"], "--learning-rate"),
    (["--batch-size", "64"], "--batch-size"), (["--cell", "gru"], "--cell"),
    (["--preset", "large"], "--preset"), (["--out", "elsewhere"], "--out")])
def test_resume_refuses_options_that_would_change_the_run(run_dir, option, named):
    result = rnnlab_cmd("train", "--resume", run_dir, *option)
    assert_one_line_error(result, named, "resumed run")


def test_resume_refuses_a_changed_or_shuffled_corpus_and_accepts_a_moved_one(run_dir, corpus, tmp_path):
    import shutil
    text = corpus.read_text(encoding="utf-8")
    changed, shuffled, moved = tmp_path / "changed.txt", tmp_path / "shuffled.txt", tmp_path / "moved.txt"
    changed.write_text(text + "more", encoding="utf-8")
    lines = text.splitlines(keepends=True)
    random.Random(0).shuffle(lines)
    shuffled.write_text("".join(lines), encoding="utf-8")
    moved.write_text(text, encoding="utf-8")
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    for path in (changed, shuffled):
        assert_one_line_error(rnnlab_cmd("train", "--resume", copy, path),
                              f"{path}: not the text this run was trained on", "sha256")
    result = rnnlab_cmd("train", "--resume", copy, moved, "--epochs", "2", "--max-time", "1",
                        "--sample-length", "0")
    assert result.returncode == 0, result.stderr
    assert json.loads((copy / "settings.json").read_text())["text_file"] == str(moved)


def test_a_run_started_with_a_relative_path_resumes_from_anywhere(tmp_path, corpus):
    work = tmp_path / "work"
    work.mkdir()
    (work / "text.txt").write_text(corpus.read_text(encoding="utf-8"), encoding="utf-8")
    first = rnnlab_cmd("train", "text.txt", *TINY, "--epochs", "1", "--max-time", "1", "--out", "run",
                       "--sample-length", "0", cwd=work)
    assert first.returncode == 0, first.stderr
    resumed = rnnlab_cmd("train", "--resume", work / "run", "--epochs", "2", "--max-time", "1",
                         "--sample-length", "0", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr


def test_a_run_from_a_pipe_says_so_and_resumes_from_the_same_text_as_a_file(tmp_path, corpus):
    out = tmp_path / "run"
    with open(corpus, "rb") as text:
        piped = subprocess.run(f"cat | {sys.executable} -m rnnlab.cli.main train /dev/stdin "
                               f"{' '.join(TINY)} --epochs 1 --max-time 1 --sample-length 0 --out {out}",
                               shell=True, stdin=text, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert "this run cannot be resumed" in piped.stderr
    assert_one_line_error(rnnlab_cmd("train", "--resume", out), "cannot be read again (a pipe)")
    resumed = rnnlab_cmd("train", "--resume", out, corpus, "--max-time", "1", "--sample-length", "0")
    assert resumed.returncode == 0, resumed.stderr


# 8. huge models ------------------------------------------------------------------------
def test_a_model_too_large_for_the_machine_is_refused_before_anything_is_written(tmp_path, corpus):
    out = tmp_path / "run"
    result = rnnlab_cmd("train", corpus, "--hidden-size", "100000000", "--out", out)
    assert_one_line_error(result, "the model needs about", "GiB of memory", "available")
    assert not out.exists()


@pytest.mark.parametrize("cell", sorted(rnnlab.models.stack.CELLS))
def test_the_parameter_estimate_is_the_models_own_count(cell):
    from rnnlab.models import LanguageModel
    from rnnlab.train.footprint import estimated_parameters
    extra = {"recurrent_bias": True} if cell in ("lstm", "rnn") else {}

    def build(E, H):
        return LanguageModel(11, embedding_dim=E, hidden_size=H, num_layers=2, cell=cell, **extra)
    assert estimated_parameters(build, 20, 36) == build(20, 36).count_params()


# 9, 12. what counts as text ------------------------------------------------------------------
def test_binary_and_utf16_files_are_refused_with_the_right_hint(tmp_path):
    (tmp_path / "nul.bin").write_bytes(b"\x00" * 5000)
    (tmp_path / "inside.txt").write_bytes(b"To be, or not\x00 to be" * 100)
    (tmp_path / "utf16.txt").write_bytes("To be, or not to be\n".encode("utf-16") * 100)
    assert_one_line_error(rnnlab_cmd("train", tmp_path / "nul.bin"), "NUL bytes", "offset 0")
    assert_one_line_error(rnnlab_cmd("train", tmp_path / "inside.txt"), "NUL bytes", "offset 13")
    assert_one_line_error(rnnlab_cmd("train", tmp_path / "utf16.txt"), "UTF-16", "iconv -f utf-16")


def test_crlf_and_a_byte_order_mark_are_read_as_a_user_means_them(tmp_path, corpus):
    crlf = tmp_path / "windows.txt"
    crlf.write_bytes(b"\xef\xbb\xbf" + corpus.read_bytes().replace(b"\n", b"\r\n"))
    out = tmp_path / "run"
    result = rnnlab_cmd("train", crlf, *TINY, "--epochs", "1", "--max-time", "1", "--out", out,
                        "--sample-length", "0")
    assert result.returncode == 0, result.stderr
    assert "byte-order mark" in result.stderr and "\\r\\n line ends as \\n" in result.stderr
    tokens = rnnlab.train.read_checkpoint(out).vocab.tokens
    assert "\r" not in tokens and "\ufeff" not in tokens
    raw = tmp_path / "raw"
    result = rnnlab_cmd("train", crlf, *TINY, "--epochs", "1", "--max-time", "1", "--out", raw,
                        "--sample-length", "0", "--raw-text")
    assert result.returncode == 0, result.stderr
    tokens = rnnlab.train.read_checkpoint(raw).vocab.tokens
    assert "\r" in tokens and "\ufeff" in tokens


# 10. NaN and infinities in the options ------------------------------------------------------
@pytest.mark.parametrize("option", ["--max-time", "--learning-rate", "--dropout", "--init-scale",
                                    "--grad-clip"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_numbers_are_refused_by_the_options_name(tmp_path, corpus, option, value):
    out = tmp_path / "run"
    result = rnnlab_cmd("train", corpus, option, value, "--out", out)
    assert_one_line_error(result, f"{option}: expected a finite number, got {value}")
    assert not out.exists()


def test_non_finite_numbers_in_a_config_file_are_refused(tmp_path, corpus):
    config = tmp_path / "c.json"
    config.write_text('{"learning_rate": NaN}')
    assert_one_line_error(rnnlab_cmd("train", corpus, "--config", config, "--out", tmp_path / "run"),
                          "c.json: learning_rate expected a finite number")
    assert not (tmp_path / "run").exists()


def test_old_setting_names_are_still_read_with_a_notice(tmp_path, corpus):
    """Config files and runs of before the renames (lr, epochs, embedding_size,
    sum_loss_over_time, lr_decay) keep working."""
    config = tmp_path / "old.json"
    config.write_text(json.dumps({"lr": 0.003, "epochs": 1, "embedding_size": 8, "hidden_size": 24,
                                  "num_layers": 1, "seq_length": 16, "batch_size": 8}))
    out = tmp_path / "run"
    result = rnnlab_cmd("train", corpus, "--config", config, "--max-time", "1", "--out", out,
                        "--sample-length", "0", "--no-progress", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "setting 'lr' is now 'learning_rate'" in result.stderr
    settings = json.loads((out / "settings.json").read_text())
    assert settings["learning_rate"] == 0.003 and settings["embedding_dim"] == 8
    old = {("lr" if k == "learning_rate" else "epochs" if k == "num_epochs" else k): v
           for k, v in settings.items()}  # settings.json as an older rnnlab wrote it
    (out / "settings.json").write_text(json.dumps(old))
    resumed = rnnlab_cmd("train", "--resume", out, "--epochs", "2", "--max-time", "1",
                         "--sample-length", "0")
    assert resumed.returncode == 0, resumed.stderr
    assert "setting 'epochs' is now 'num_epochs'" in resumed.stderr


# 11. sampling ---------------------------------------------------------------------------------
def test_sampling_edge_cases(run_dir):
    greedy = [rnnlab_cmd("sample", run_dir, "--temperature", "0", "--length", "60", "--prime", "ROMEO:",
                         "--seed", str(s)).stdout for s in (1, 2)]
    assert greedy[0] == greedy[1] and len(greedy[0]) == len("ROMEO:") + 60 + 1
    tiny = rnnlab_cmd("sample", run_dir, "--temperature", "1e-320", "--length", "60", "--prime", "ROMEO:",
                      "--seed", "1")
    assert tiny.returncode == 0 and tiny.stdout == greedy[0]
    hot = rnnlab_cmd("sample", run_dir, "--temperature", "50", "--length", "3000", "--prime", "", "--seed", "1")
    assert hot.returncode == 0 and len(hot.stdout) == 3001
    assert "<null>" not in hot.stdout and "<unk>" not in hot.stdout
    empty = rnnlab_cmd("sample", run_dir, "--length", "0", "--prime", "")
    assert empty.returncode == 0 and empty.stdout == "\n"


# 13. a full disk -------------------------------------------------------------------------------
def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_failed_checkpoint_write_names_the_file_and_loses_nothing(run_dir, tmp_path):
    import shutil
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = rnnlab.train.checkpoint.resolve(copy)
    result = subprocess.run([sys.executable, "-m", "rnnlab.cli.main", "train", "--resume", str(copy),
                             "--epochs", "2", "--sample-length", "0"], capture_output=True, text=True,
                            timeout=300, preexec_fn=_file_size_limit(20_000))
    assert_one_line_error(result, f"{copy}/", "File too large")
    assert rnnlab.train.checkpoint.resolve(copy) == before
    assert rnnlab.train.read_checkpoint(copy).state is not None  # still complete and verified
    assert not list(copy.glob(".ckpt-*"))
    assert json.loads((copy / "settings.json").read_text())["hidden_size"] == 24


def test_an_atomic_write_that_fails_names_the_file_and_leaves_the_old_one(tmp_path, monkeypatch):
    import errno
    from rnnlab.files import write_atomically
    target = tmp_path / "settings.json"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as error:
        write_atomically(target, b"new")
    assert error.value.filename == str(target) and "No space left" in error.value.strerror
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["settings.json"]


# 14. inspect ---------------------------------------------------------------------------------------
def test_inspect_says_what_is_wrong_and_writes_files_like_any_other(run_dir, tmp_path):
    assert_one_line_error(rnnlab_cmd("inspect", run_dir, "--out", tmp_path), f"--out {tmp_path}: is a directory")
    (tmp_path / "odd.txt").write_text("naïve ☃ text")
    assert_one_line_error(rnnlab_cmd("inspect", run_dir, "--text", tmp_path / "odd.txt",
                                     "--out", tmp_path / "p.html"), "--text: characters not in")
    page = tmp_path / "page.html"
    old = os.umask(0o022)
    try:
        result = rnnlab_cmd("inspect", run_dir, "--prime", "To be, or not to be", "--out", page)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert page.stat().st_mode & 0o777 == 0o644
    assert (run_dir / "latest.json").stat().st_mode & 0o777 == 0o644


def test_inspect_says_when_a_model_has_no_gates_to_plot(tmp_path, corpus):
    out = tmp_path / "rnn"
    trained = rnnlab_cmd("train", corpus, *TINY, "--cell", "rnn", "--epochs", "1", "--max-time", "1",
                         "--out", out, "--sample-length", "0")
    assert trained.returncode == 0, trained.stderr
    result = rnnlab_cmd("inspect", out, "--prime", "To be, or not", "--out", tmp_path / "p.html",
                        "--gates-png", tmp_path / "g.png")
    assert result.returncode == 0, result.stderr
    assert "no gates" in result.stderr and "not written to" in result.stderr
    assert not (tmp_path / "g.png").exists()


# 16. the log -----------------------------------------------------------------------------------------
def test_a_new_run_never_appends_to_an_old_log(tmp_path, corpus):
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.jsonl").write_text('{"iteration": 999, "train_loss": 1.0, "grad_norm": 1.0}\n')
    result = rnnlab_cmd("train", corpus, *TINY, "--epochs", "1", "--max-time", "1", "--out", out,
                        "--sample-length", "0")
    assert result.returncode == 0, result.stderr
    assert 999 not in logged_iterations(out)


# the kill test -----------------------------------------------------------------------------------------
def test_a_run_killed_five_times_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, corpus):
    """SIGKILL at 5 random moments, each followed by --resume (or a fresh start when no
    checkpoint was written yet): the final weights equal an uninterrupted run's bit for
    bit, and the log holds each update once."""
    args = [*PER_EPOCH, "--epochs", "2", "--eval-every", "60", "--checkpoint-every", "25",
            "--sample-length", "0"]
    whole = tmp_path / "whole"
    assert rnnlab_cmd("train", corpus, *args, "--out", whole).returncode == 0
    out, rng, kills = tmp_path / "killed", random.Random(5), 0
    while kills < 5:
        resumable = (out / "latest.json").exists()
        process = start("train", "--resume", out) if resumable else start("train", corpus, *args, "--out", out)
        wait_for(lambda: logged_iterations(out) or process.poll() is not None)
        time.sleep(rng.uniform(0.0, 0.6))
        if process.poll() is not None:
            break  # it finished before this kill
        process.kill()
        process.wait()
        kills += 1
    final = rnnlab_cmd("train", "--resume", out)
    assert final.returncode == 0, final.stderr
    assert kills >= 3
    expected, got = rnnlab.train.read_checkpoint(whole), rnnlab.train.read_checkpoint(out)
    assert got.state["iteration"] == expected.state["iteration"]
    for name, weight in expected.model.params.items():
        assert np.array_equal(got.model.params[name], weight), name
    assert logged_iterations(out) == logged_iterations(whole)
