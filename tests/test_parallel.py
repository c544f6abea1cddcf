"""Data-parallel training under ``mpiexec -n 2`` (the mpi4py and mpich wheels of the
test extras): the same computation as one process, the same weights on every rank,
exact resumption on another number of ranks, and the command's refusals and signals."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec") or str(Path(sys.executable).with_name("mpiexec"))
if not Path(MPIEXEC).exists():
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)

HERE = Path(__file__).resolve().parent
WORKER = HERE / "parallel_worker.py"
RNNLAB = [sys.executable, "-m", "rnnlab.cli.main"]
SMALL = ["--hidden-size", "16", "--num-layers", "1", "--embedding-dim", "8", "--batch-size", "8",
         "--seq-length", "16", "--no-progress", "--sample-length", "0"]


def launch(ranks, *args, timeout=240):
    """``args`` under ``mpiexec -n ranks`` (ranks 0: one plain process)."""
    command = ([MPIEXEC, "-n", str(ranks), sys.executable, "-m", "mpi4py"] if ranks else
               [sys.executable]) + [str(a) for a in args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=HERE)


def train(ranks, out, dtype, updates, run_dir=None, resume=False):
    result = launch(ranks, WORKER, out, dtype, updates,
                    *([run_dir] if run_dir else []), *(["resume"] if resume else []))
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(np.load(out))


def relative(a, b):
    return max(float(np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(a[k])), 1e-30))
               for k in a if k not in ("losses", "val"))


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-10), ("float32", 1e-6)])
def test_two_ranks_compute_what_one_process_computes(tmp_path, dtype, tolerance):
    """20 updates of a 2-layer LSTM with embedding, input and recurrent dropout and
    validation every 7 updates; the worker checks that both ranks hold the same weights."""
    one = train(0, tmp_path / "one.npz", dtype, 20)
    two = train(2, tmp_path / "two.npz", dtype, 20)
    assert relative(one, two) < tolerance
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=tolerance)
    np.testing.assert_allclose(two["val"], one["val"], rtol=tolerance)
    assert len(one["losses"]) == 20 and len(one["val"]) == 2
    single_rank = train(1, tmp_path / "single.npz", dtype, 20)  # the same path, one rank
    assert relative(one, single_rank) == 0


def test_a_run_resumes_exactly_on_another_number_of_ranks(tmp_path):
    whole = train(0, tmp_path / "whole.npz", "float64", 20)
    for first, then in ((2, 2), (2, 0), (0, 2)):
        run = tmp_path / f"run-{first}-{then}"
        train(first, tmp_path / "half.npz", "float64", 10, run)
        resumed = train(then, tmp_path / "resumed.npz", "float64", 20, run, resume=True)
        assert relative(whole, resumed) < 1e-10, (first, then)
        np.testing.assert_allclose(resumed["losses"], whole["losses"], rtol=1e-10)


def mpiexec_rnnlab(*args, ranks=2, timeout=240):
    return subprocess.run([MPIEXEC, "-n", str(ranks), *RNNLAB, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_the_command_trains_on_two_ranks_and_refuses_a_batch_they_do_not_divide(tmp_path):
    run = tmp_path / "run"
    result = mpiexec_rnnlab("train", "--out", run, "--max-time", "4", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "2 processes of 4 rows" in result.stdout
    assert result.stdout.count("stopped:") == 1  # rank 0 alone speaks
    assert (run / "latest.json").exists() and (run / "settings.json").exists()
    resumed = subprocess.run([*RNNLAB, "train", "--resume", run, "--max-time", "6",
                              "--no-progress", "--sample-length", "0"],
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout, resumed.stderr
    refused = mpiexec_rnnlab("train", "--out", tmp_path / "odd", *SMALL, "--batch-size", "7")
    assert_one_line_error(refused, "--batch-size 7: 2 processes (mpiexec -n 2) must divide "
                                   "the global batch")
    assert not (tmp_path / "odd").exists()
    taken = mpiexec_rnnlab("train", "--out", run, *SMALL)
    assert_one_line_error(taken, f"--out {run}: already holds a training run")


def training_on_two_ranks(run):
    """`mpiexec -n 2 rnnlab train` started and some updates in -> the mpiexec process."""
    process = subprocess.Popen([MPIEXEC, "-n", "2", *RNNLAB, "train", "--out", run, *SMALL],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "log.jsonl").exists():
        time.sleep(0.2)
    time.sleep(2)
    return process


def test_sigint_stops_every_rank_after_one_update_with_one_checkpoint(tmp_path):
    run = tmp_path / "run"
    process = training_on_two_ranks(run)
    process.send_signal(signal.SIGINT)  # mpiexec forwards it to every rank
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "stopped: interrupted after" in out and out.count("checkpoint:") == 1
    assert os.path.exists(run / "latest.json")


def test_sigterm_on_one_rank_stops_them_all(tmp_path):
    run = tmp_path / "run"
    process = training_on_two_ranks(run)
    ranks = sorted(int(p) for p in subprocess.run(["pgrep", "-f", "--", f"--out {run}"], capture_output=True,
                                                  text=True).stdout.split() if int(p) != process.pid)
    os.kill(ranks[-1], signal.SIGTERM)  # the last rank started: not rank 0's process
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, out + err
    assert "stopped: interrupted after" in out and out.count("checkpoint:") == 1


def test_a_prepared_corpus_trains_on_two_ranks(tmp_path):
    from cli_helpers import SHAKESPEARE

    corpus, run = tmp_path / "corpus", tmp_path / "run"
    assert subprocess.run([*RNNLAB, "prepare", SHAKESPEARE, "--out", corpus, "--no-progress"],
                          capture_output=True).returncode == 0
    result = mpiexec_rnnlab("train", corpus, "--out", run, "--max-time", "3", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "1,003,855 training tokens" in result.stdout and "2 processes of 4 rows" in result.stdout


def test_an_mpi_launch_without_mpi4py_is_one_line(tmp_path):
    (tmp_path / "mpi4py.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'mpi4py'\", name='mpi4py')\n")
    result = subprocess.run([*RNNLAB, "train", "--out", tmp_path / "run", *SMALL],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PMI_SIZE": "2", "PYTHONPATH": str(tmp_path)})
    assert_one_line_error(result, "started by an MPI launcher but mpi4py is not installed: "
                                  "pip install 'rnnlab[mpi]'")
    assert not (tmp_path / "run").exists()
