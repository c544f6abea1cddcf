"""Atomic writes: a reader sees the old file or the new one, never a half-written one.

Write to a temporary file in the same directory, flush and fsync it, rename it over
the target (atomic on POSIX), then fsync the directory so the rename survives a crash.
The file gets the mode any new file of the user gets (0666 less the umask), not the
temporary file's 0600. A failed write (a full disk) removes the temporary file and
raises an OSError that names the target.
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


def user_file_mode():
    """0666 less the process's umask: the mode ``open()`` gives a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path, data):
    """Replace ``path`` with the bytes ``data`` atomically."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise named_error(error, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, user_file_mode())
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise named_error(error, path) from None
        raise
    fsync_directory(path.parent)


def named_error(error, path):
    """The OSError ``error`` with ``path`` as its file name (a full disk's ENOSPC names
    no file of its own)."""
    return OSError(error.errno, error.strerror or str(error), str(path))
