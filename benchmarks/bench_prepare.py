"""Corpora at scale: `rnnlab prepare` speed and peak memory per level, and `rnnlab train DIR`'s
start-up time and resident memory, on generated corpora of growing size.

    python benchmarks/bench_prepare.py [--sizes 100,2000] [--levels char,word] [--work DIR]

The corpus of each size (MB) is generated here, not committed: the shared corpora
(tinyshakespeare, Anna Karenina, PTB train) as lines, each copy in its own random line
order (seeded), concatenated until the size is reached; so it does not compress to
nothing while its vocabulary stays that of the sources. Every command runs in a process of
its own; peak memory is that process's maximum resident set (getrusage). The start-up
figure is a whole `rnnlab train DIR --max-time 0.001` (one update, its checkpoint, exit),
beside the update's own time as the Solver counts it (the checkpoint's ``wall_time``).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from harness import machine_description, print_table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = ("tinyshakespeare.txt", "anna.txt", "ptb/ptb.train.txt")
COLUMNS = ["corpus MB", "level", "prepare MB/s", "prepare peak MB",
           "start + 1 update + exit s", "of which the update s", "train peak MB"]
RNNLAB = [sys.executable, "-c", "import sys; from rnnlab.cli.main import main; sys.exit(main())"]


def generate(path, megabytes, seed=0):
    """A corpus of ``megabytes`` MB: shuffled copies of the shared corpora's lines."""
    lines = []
    for name in SOURCES:
        lines += (SHARED / name).read_text(encoding="utf-8").replace("\r\n", "\n").splitlines(True)
    lines = np.array(lines, dtype=object)
    rng, target, written = np.random.default_rng(seed), megabytes * 1_000_000, 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            copy = "".join(lines[rng.permutation(len(lines))])[: target - written]
            f.write(copy)
            written += len(copy.encode("utf-8"))
    return path


def run_measured(command, output, poll=None):
    """-> (seconds, peak resident MB, what ``poll(start)`` returned last); the
    command's output goes to the file ``output``."""
    start = time.perf_counter()
    with open(output, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    result = None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        result = (poll(start) if poll else None) or result
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{Path(output).read_text()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, result


def train(corpus, run_dir, seconds, output):
    """`rnnlab train corpus` for ``seconds`` -> (wall seconds, peak MB, updates, the
    updates' own seconds as the Solver counts them)."""
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)
    wall, peak, _ = run_measured(RNNLAB + ["train", str(corpus), "--out", str(run_dir), "--max-time",
                                           str(seconds), "--no-progress", "--sample-length", "0"],
                                 output)
    checkpoint = json.loads((run_dir / "latest.json").read_text())["checkpoint"]
    state = json.loads((run_dir / checkpoint / "state.json").read_text())
    return wall, peak, int(checkpoint.rsplit("-", 1)[-1]), state["wall_time"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,2000", help="corpus sizes in MB")
    parser.add_argument("--levels", default="char,word")
    parser.add_argument("--work", default="/tmp/rnnlab-bench-prepare", help="scratch directory")
    parser.add_argument("--train-seconds", type=float, default=30)
    parser.add_argument("--json")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(machine_description())
    rows, results = [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        text = work / f"corpus-{size}MB.txt"
        if not text.exists():
            generate(text, size)
        megabytes = text.stat().st_size / 1e6
        for level in args.levels.split(","):
            out = work / f"prepared-{size}MB-{level}"
            subprocess.run(["rm", "-rf", str(out)], check=True)
            seconds, peak, _ = run_measured(RNNLAB + ["prepare", str(text), "--out", str(out),
                                                      "--level", level, "--no-progress"],
                                            work / "prepare.out")
            record = {"size_mb": round(megabytes), "level": level, "prepare_mb_s": megabytes / seconds,
                      "prepare_peak_mb": peak}
            run_dir = work / f"run-{size}MB-{level}"
            # one update (--max-time stops after the first): start, update, checkpoint, exit
            first, _, _, update = train(out, run_dir, 1e-3, work / "train.out")
            _, train_peak, updates, _ = train(out, run_dir, args.train_seconds, work / "train.out")
            record.update(first_update_s=first, update_s=update, train_peak_mb=train_peak,
                          updates=updates)
            results.append(record)
            rows.append(dict(zip(COLUMNS, [f"{record['size_mb']:,}", level,
                                           f"{record['prepare_mb_s']:.1f}", f"{peak:,.0f}",
                                           f"{first:.1f}", f"{update:.1f}",
                                           f"{train_peak:,.0f}"])))
            print_table(COLUMNS, rows[-1:])
            sys.stdout.flush()
    print_table(COLUMNS, rows)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
