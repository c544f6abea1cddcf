"""Running the real ``rnnlab`` command in tests, and what its errors must look like."""
import subprocess
import sys
from pathlib import Path

import rnnlab

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
SHAKESPEARE = SHARED / "tinyshakespeare.txt" if (SHARED / "tinyshakespeare.txt").exists() \
    else rnnlab.corpus_path()
PER_EPOCH = ["--hidden-size", "24", "--num-layers", "1", "--embedding-size", "8",
             "--seq-length", "16", "--batch-size", "8", "--no-progress"]  # validation each epoch
TINY = PER_EPOCH + ["--eval-every", "20"]


def rnnlab_cmd(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "rnnlab.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
