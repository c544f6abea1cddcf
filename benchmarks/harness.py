"""Shared benchmark machinery: timing in alternating blocks or alternating processes, the
machine's sgemm roofline, tables.

In one process (``block_medians``) the libraries run in alternating blocks so that noise
from a shared machine falls on both. A library's thread pool spins for a while after
each call and slows whatever runs next, so the comparisons with PyTorch time each
library in a process of its own (``alternating_processes``): a worker per measurement
(warm-up calls, then the median of several timed calls, printed as JSON), the two
libraries' workers alternated A B A B, the median of the process medians; a benchmark
repeats that ``--runs`` times and reports the median and the lowest run's ratio.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

SLOW_OPENBLAS_SETTINGS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in SLOW_OPENBLAS_SETTINGS):
    # Some machines pin OpenBLAS's kernel and cache size, which slows a current NumPy;
    # the benchmarks run without both (machine_description names the kernel that runs).
    env = {k: v for k, v in os.environ.items() if k not in SLOW_OPENBLAS_SETTINGS}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402

from rnnlab import backend, keep_freed_memory  # noqa: E402

# what rnnlab's Solver does when training; it applies to the whole process, PyTorch too
FREED_MEMORY_KEPT = keep_freed_memory()


def language_model_parser(doc, **defaults):
    """The options every language-model benchmark takes (the default preset's model
    size), plus ``defaults``: name -> default value of further options."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    for name, default in defaults.items():
        parser.add_argument(f"--{name}", type=type(default) if default is not None else str, default=default)
    return parser


def default_corpus():
    """The bundled corpus at the character level -> vocab, (train, val, test) ids."""
    from rnnlab import corpus_path
    from rnnlab.data import Vocab, read_text, split_ids

    text = read_text(corpus_path())
    vocab = Vocab.characters(text)
    return vocab, split_ids(vocab.encode(text))


SETTLE_SECONDS = 0.5  # longer than OpenBLAS's and OpenMP's idle spinning


def block_medians(fns, repeats, rounds=2):
    """Median wall time of each function in ``fns`` (name -> callable) over
    ``rounds`` x ``repeats`` runs, timed in blocks: a, a, ..., b, b, ..., a, a, ...

    Each block starts after a pause and one untimed run: both libraries keep worker
    threads spinning for a while after a call (OpenBLAS for NumPy, OpenMP for PyTorch),
    and a run timed right after the other library's would pay for them. Alternating
    blocks spreads slow phases of a shared machine over both."""
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(SETTLE_SECONDS)
            fn()
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


# timed seconds a worker spends at least: a median of 5 calls of 2 ms is 10 ms of a shared
# machine, and a slow phase of it moved a whole run's ratio by 20% here
WORKER_SECONDS = 1.0


def worker_median(fn, calls, warmup=2, seconds=WORKER_SECONDS):
    """In a worker process: ``warmup`` untimed calls, then the median of timed ones, at
    least ``calls`` of them and at least ``seconds`` of them in all, printed as the JSON
    line the parent reads (with how many were timed)."""
    for _ in range(warmup):
        fn()
    times = [_timed(fn) for _ in range(calls)]
    while sum(times) < seconds:
        times.append(_timed(fn))
    print(json.dumps({"median": statistics.median(times), "min": min(times), "calls": len(times)}),
          flush=True)


def alternating_processes(commands, pairs=3):
    """Run each command (name -> argv of a worker that ends with ``worker_median``'s
    line) ``pairs`` times, alternated A B A B ... -> name -> the median of its process
    medians."""
    medians = {name: [] for name in commands}
    for _ in range(pairs):
        for name, argv in commands.items():
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(f"worker failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
            medians[name].append(json.loads(done.stdout.strip().splitlines()[-1])["median"])
    return {name: statistics.median(values) for name, values in medians.items()}


def sgemm_flops(n=2048, repeats=5):
    """Measured float32 GEMM rate of NumPy's BLAS on this machine, FLOP/s (best run)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} x {len(names)}" if names else platform.processor()
    except OSError:
        return platform.processor() or platform.machine()


def machine_description(torch=None):
    """The machine line: CPU model and cores, NumPy's BLAS (version, kernel, threads),
    rnnlab's LSTM path (``backend()``: numba or numpy), PyTorch's threads when given."""
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')} kernel, "
                f"{i['num_threads']} threads)" for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        blas = []
    malloc = "; freed memory kept (mallopt)" if FREED_MEMORY_KEPT else ""
    line = (f"{cpu_model()}, numpy {np.__version__}, BLAS: {'; '.join(blas) or 'unknown'}{malloc}; "
            f"rnnlab LSTM loops: {backend()}")
    if torch is not None:
        line += f"; torch {torch.__version__} ({torch.get_num_threads()} threads)"
    return line


def print_table(columns, rows):
    """Print rows (dicts) under the given column headers as a Markdown table."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
