"""Shared benchmark machinery: interleaved timing, the machine's sgemm roofline, tables.

Every benchmark times rnnlab and PyTorch in the same process, alternating them so
that noise from a shared machine falls on both, and reports medians and ratios.
"""
import json
import platform
import statistics
import time

import numpy as np


def median_seconds(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns, repeats):
    """Median wall time of each function in ``fns`` (name -> callable), run in turn:
    a, b, a, b, ... so that both see the same machine load."""
    for fn in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
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
    return f"{cpu}, numpy {np.__version__}, BLAS: {'; '.join(blas) or 'unknown'}"


def print_table(columns, rows):
    """Print rows (dicts) under the given column headers as a Markdown table."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
