"""One process at a time in a run directory.

``lock_run_directory(DIR)`` takes an exclusive ``flock`` on ``DIR/.lock`` and writes the
process id into it. The OS releases the lock when the process exits however it exits
(a SIGKILL included), so a killed run leaves no stale lock; the file itself stays. The
lock is re-entrant within a process (the CLI and the Solver it drives both ask for it)
and is released when the last holder lets go of its ``RunLock``.
"""
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no advisory locks, the directory is not guarded
    fcntl = None

LOCK_FILE = ".lock"
_HELD = {}  # resolved directory -> [fd, holders]


class RunLockError(ValueError):
    """The run directory is held by another process."""


class RunLock:
    """A hold on a run directory: released by ``release()``, at the end of a ``with``
    block, when the object is collected, or when the process ends."""

    def __init__(self, directory):
        self.key = str(Path(directory).resolve())
        self.released = False

    def release(self):
        if self.released:
            return
        self.released = True
        entry = _HELD.get(self.key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _HELD[self.key]
            os.close(entry[0])  # closing the descriptor drops the flock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:  # interpreter shutdown
            pass


def holder(directory):
    """The pid (text) of another process holding ``directory``'s lock, else None; looks
    without changing anything."""
    path = Path(directory) / LOCK_FILE
    if fcntl is None or str(Path(directory).resolve()) in _HELD or not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return _pid_in(fd)
    finally:
        os.close(fd)  # drops a lock taken just now
    return None


def _pid_in(fd):
    """The pid a lock file holds (its holder wrote it)."""
    return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"


def _in_use(directory, pid):
    return RunLockError(f"{directory}: in use by another rnnlab process (pid {pid}); wait for "
                        f"it to finish or stop it, or choose another directory")


def check_not_held(directory):
    """RunLockError when another process holds ``directory``; changes nothing."""
    pid = holder(directory)
    if pid is not None:
        raise _in_use(directory, pid)


def lock_run_directory(directory):
    """Hold ``directory`` (created if needed) for this process -> RunLock;
    RunLockError naming the holder's pid when another process holds it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = RunLock(directory)
    if lock.key in _HELD:
        _HELD[lock.key][1] += 1
        return lock
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _pid_in(fd)
            os.close(fd)
            raise _in_use(directory, pid) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    _HELD[lock.key] = [fd, 1]
    return lock
