"""A training run in its own process, for the resume and crash tests.

    python training_worker.py fresh RUN_DIR ITERATIONS OUT [--stall-in-write]
    python training_worker.py resume RUN_DIR ITERATIONS OUT

Trains a small stateful 2-layer LSTM language model with dropout (so that the RNG
state matters) on the first 6,000 characters of tinyshakespeare, writes the final
weights to OUT (safetensors) and the loss history to OUT.json. ``--stall-in-write``
checkpoints every iteration and, once a checkpoint is complete, stops inside the next
write (its files in the temporary directory, not yet renamed into place) after making
RUN_DIR.stalled, so that the crash test's SIGKILL lands mid-write every time.
"""
import json
import sys
import time
from pathlib import Path

from rnnlab import corpus_path
from rnnlab.data import Vocab, split_ids
from rnnlab.files import save_safetensors
from rnnlab.models import LanguageModel
from rnnlab.train import Solver, checkpoint


def stall_in_the_second_write(run_dir):
    """Make checkpoint writes stop for good before their rename once one is complete."""
    fsync_directory = checkpoint.fsync_directory

    def fsync_then_stall(directory):
        fsync_directory(directory)
        if ".tmp-" in Path(directory).name and checkpoint.checkpoint_names(run_dir):
            Path(f"{run_dir}.stalled").touch()
            time.sleep(3600)

    checkpoint.fsync_directory = fsync_then_stall


def data():
    text = corpus_path().read_text(encoding="utf-8")[:6000]
    vocab = Vocab.characters(text)
    train, val, _ = split_ids(vocab.encode(text))
    return vocab, {"train": train, "val": val}


def main(mode, run_dir, iterations, out, stall=False):
    vocab, splits = data()
    if stall:
        stall_in_the_second_write(run_dir)
    settings = dict(max_iterations=int(iterations))
    if mode == "fresh":
        model = LanguageModel(len(vocab), embedding_dim=16, hidden_size=24, num_layers=2,
                              dropout=0.2, stateful=True, seed=0)
        solver = Solver(model, splits, batch_size=8, seq_length=16, num_epochs=100,
                        learning_rate=3e-3, learning_rate_decay=0.9, eval_every=7, eval_batches=3,
                        checkpoint_dir=run_dir, checkpoint_every=1 if stall else None,
                        keep_last=2, vocab=vocab, seed=3, verbose=False, **settings)
    else:
        solver = Solver.resume(run_dir, splits, verbose=False, **settings)
    iters, losses = solver.train()
    save_safetensors(out, solver.model.params)
    with open(out + ".json", "w") as f:
        json.dump({"iters": iters, "losses": losses, "val": solver.val_history}, f)


if __name__ == "__main__":
    main(*sys.argv[1:5], stall="--stall-in-write" in sys.argv)
