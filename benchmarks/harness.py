"""Shared benchmark machinery: timing in alternating blocks, the machine's sgemm roofline, tables.

Every benchmark times rnnlab and PyTorch in the same process, in alternating blocks
(``block_medians``) so that noise from a shared machine falls on both, and reports
medians and ratios.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

SLOW_OPENBLAS_SETTINGS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in SLOW_OPENBLAS_SETTINGS):
    # Some machines pin OpenBLAS's kernel and cache size, which slows a current NumPy;
    # the benchmarks run without both (machine_description names the kernel that runs).
    env = {k: v for k, v in os.environ.items() if k not in SLOW_OPENBLAS_SETTINGS}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402

from rnnlab import keep_freed_memory  # noqa: E402

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


def machine_description():
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
                f"{i['num_threads']} threads)" for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        blas = []
    cpu = platform.processor() or platform.machine()
    malloc = "; freed memory kept (mallopt)" if FREED_MEMORY_KEPT else ""
    return f"{cpu}, numpy {np.__version__}, BLAS: {'; '.join(blas) or 'unknown'}{malloc}"


def print_table(columns, rows):
    """Print rows (dicts) under the given column headers as a Markdown table."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
