"""A training run in its own process, for the resume and crash tests.

    python training_worker.py fresh RUN_DIR ITERATIONS OUT [--big]
    python training_worker.py resume RUN_DIR ITERATIONS OUT

Trains a small stateful 2-layer LSTM language model with dropout (so that the RNG
state matters) on the first 6,000 characters of tinyshakespeare, writes the final
weights to OUT (safetensors) and the loss history to OUT.json. ``--big`` makes the
model large and checkpoints every iteration (the crash test kills it mid-write).
"""
import json
import sys

from rnnlab import corpus_path
from rnnlab.data import Vocab, split_ids
from rnnlab.files import save_safetensors
from rnnlab.models import LanguageModel
from rnnlab.train import Solver


def data():
    text = corpus_path().read_text(encoding="utf-8")[:6000]
    vocab = Vocab.characters(text)
    train, val, _ = split_ids(vocab.encode(text))
    return vocab, {"train": train, "val": val}


def main(mode, run_dir, iterations, out, big=False):
    vocab, splits = data()
    settings = dict(max_iterations=int(iterations))
    if mode == "fresh":
        hidden = 384 if big else 24
        model = LanguageModel(len(vocab), embedding_dim=16, hidden_size=hidden, num_layers=2,
                              dropout=0.2, stateful=True, seed=0)
        solver = Solver(model, splits, batch_size=8, seq_length=16, num_epochs=100,
                        learning_rate=3e-3, learning_rate_decay=0.9, eval_every=7, eval_batches=3,
                        checkpoint_dir=run_dir, checkpoint_every=1 if big else None,
                        keep_last=2, vocab=vocab, seed=3, verbose=False, **settings)
    else:
        solver = Solver.resume(run_dir, splits, verbose=False, **settings)
    iters, losses = solver.train()
    save_safetensors(out, solver.model.params)
    with open(out + ".json", "w") as f:
        json.dump({"iters": iters, "losses": losses, "val": solver.val_history}, f)


if __name__ == "__main__":
    main(*sys.argv[1:5], big="--big" in sys.argv)
