"""What a run shows and keeps: a progress bar (or plain lines), and the JSONL log.

The log has one JSON object per line: ``iteration``, ``epoch`` (fractional),
``train_loss``, ``val_loss`` (on evaluation lines, else absent), ``lr``, ``grad_norm``
(before clipping), ``grad_param_ratio`` (gradient norm / parameter norm, char-rnn's
health check), ``tokens_per_s`` and ``wall_time`` (seconds of training so far).
Each update is in it once: a run opened at update k keeps the records up to k and
drops later ones (those a killed process wrote after its last checkpoint); a run at
update 0 starts a new log.
"""
import json
import math
import os
import sys

from ..files.atomic import named_error, write_atomically


class JsonlLog:
    def __init__(self, path, keep_until=0):
        self.path = path
        self.file = None
        if path is None:
            return
        kept = [r for r in read_log(path) if r.get("iteration", 0) <= keep_until] \
            if keep_until and os.path.exists(path) else []
        write_atomically(path, "".join(json.dumps(r) + "\n" for r in kept).encode("utf-8"))
        self.file = open(path, "a", encoding="utf-8")

    def write(self, record):
        if self.file is not None:
            try:
                self.file.write(json.dumps(record) + "\n")
                self.file.flush()
            except OSError as error:  # a full disk: say which file
                raise named_error(error, self.path) from None

    def close(self):
        if self.file is not None:
            self.file.close()


def read_log(path):
    """The records of a JSONL log, skipping a torn last line (a run killed mid-write)."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


class Progress:
    """A tqdm bar on a terminal (when tqdm is installed), else one plain line per report."""

    def __init__(self, total, enabled=True, bar=None, initial=0):
        self.total, self.enabled = total, enabled
        self.bar = None
        if enabled and (bar or (bar is None and sys.stderr.isatty())):
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True)
            except ImportError:
                self.bar = None

    def advance(self, record):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{record['train_loss']:.3f}",
                                 tok_s=f"{record['tokens_per_s']:,.0f}")

    def report(self, record, eta):
        if not self.enabled:
            return
        line = (f"iteration {record['iteration']}/{self.total}  epoch {record['epoch']:.2f}  "
                f"loss {record['train_loss']:.4f}")
        if "val_loss" in record:
            line += f"  val {record['val_loss']:.4f} (ppl {perplexity(record['val_loss']):.2f})"
        line += (f"  lr {record['lr']:.2e}  grad/param {record['grad_param_ratio']:.1e}  "
                 f"{record['tokens_per_s']:,.0f} tok/s  ETA {format_seconds(eta)}")
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def perplexity(loss):
    """exp(loss), inf where that overflows a float."""
    return math.exp(loss) if loss < 709 else math.inf


def format_seconds(seconds):
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
