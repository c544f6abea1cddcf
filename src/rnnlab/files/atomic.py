"""Atomic writes: a reader sees the old file or the new one, never a half-written one.

Write to a temporary file in the same directory, flush and fsync it, rename it over
the target (atomic on POSIX), then fsync the directory so the rename survives a crash.
"""
import os
import tempfile
from pathlib import Path


def fsync_directory(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, data):
    """Replace ``path`` with the bytes ``data`` atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)
