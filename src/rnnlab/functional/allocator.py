"""Keeping freed memory for the next call (glibc's malloc, Linux).

A training step allocates the same few arrays every call (the gate buffer, its gradient,
the states: megabytes each) and frees them at its end. glibc's defaults hand such memory
back to the system at once (the heap's free top beyond its trim threshold; arrays above
the mmap threshold unmapped), so every call's arrays are new pages that the kernel
faults in and zeroes again: at (N, T, D, H) = (32, 100, 64, 128) an LSTM training step
took 10-12 ms so and 6.7-7.7 ms with the memory kept (2 cores here, docs/performance.md).

``keep_freed_memory()`` sets glibc's M_MMAP_THRESHOLD to its largest value, 32 MiB
(smaller arrays come from the heap), and M_TRIM_THRESHOLD to 1 GiB (freed heap memory up
to that is kept for the next allocation): the resident size then stays near the run's
peak. The onednn path does it when it first computes (``onednn._computing``). It leaves
the allocator alone where glibc is absent or the user tunes it already (MALLOC_*
variables or glibc.malloc tunables in the environment).

Tests: tests/test_lstm_compiled.py.
"""
import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
LARGEST_MMAP_THRESHOLD = 32 << 20  # glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 1 << 30
USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_",
                 "MALLOC_TOP_PAD_")


def tuned_by_user(environ=os.environ):
    """Whether the environment sets glibc's malloc thresholds itself."""
    return any(name in environ for name in USER_SETTINGS) or \
        "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory():
    """Have glibc keep freed memory for reuse (module docstring) -> whether it was set."""
    if tuned_by_user():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST_MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
