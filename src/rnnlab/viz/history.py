"""The learning curve of a run as a PNG: training loss and validation loss against the
iteration (matplotlib, the ``plot`` extra)."""
from pathlib import Path

from ..train.progress import read_log


def plot_history(log, path, title=None):
    """``log``: a JSONL log path or its records -> writes the PNG at ``path`` and returns
    the path. Training loss as a line, validation loss as points joined by a line."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_history needs matplotlib: pip install 'rnnlab[plot]'") from None
    records = read_log(log) if isinstance(log, (str, Path)) else list(log)
    train = [(r["iteration"], r["train_loss"]) for r in records if r.get("grad_norm") is not None]
    val = [(r["iteration"], r["val_loss"]) for r in records if r.get("val_loss") is not None]
    if not train and not val:
        raise ValueError(f"log: no training or validation losses in {log if isinstance(log, (str, Path)) else 'the records'}")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train), label="train", linewidth=1)
    if val:
        ax.plot(*zip(*val), "o-", label="validation", markersize=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title(title or "learning curve")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return Path(path)
