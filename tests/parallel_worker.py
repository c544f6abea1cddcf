"""Trains a small language model for a test, on one process or under ``mpiexec -n K``
(``Solver(communicator=...)``), and writes what it ended with.

    [mpiexec -n K] python tests/parallel_worker.py OUT.npz DTYPE UPDATES [RUN_DIR [resume]]
"""
import sys

import numpy as np
from cli_helpers import SHAKESPEARE

from rnnlab.data import Vocab, load_text, split_ids
from rnnlab.models import LanguageModel
from rnnlab.train import Solver
from rnnlab.train.parallel import launched_communicator


def main(out, dtype, updates, run_dir=None, resume=False):
    communicator = launched_communicator()
    text = load_text(SHAKESPEARE).text[:200_000]
    vocab = Vocab.characters(text)
    train, val, _ = split_ids(vocab.encode(text))
    settings = dict(batch_size=8, seq_length=20, max_iterations=int(updates), eval_every=7,
                    learning_rate=3e-3, grad_clip=1.0, verbose=False, communicator=communicator,
                    checkpoint_dir=run_dir)
    if resume:
        solver = Solver.resume(run_dir, {"train": train, "val": val}, **settings)
    else:
        model = LanguageModel(len(vocab), embedding_dim=8, hidden_size=12, num_layers=2,
                              dropout=0.25, embedding_dropout=0.1, recurrent_dropout=0.2,
                              stateful=True, seed=3, dtype=dtype)
        solver = Solver(model, {"train": train, "val": val}, seed=5, **settings)
    solver.train()
    weights = solver.model.params
    if communicator is not None:  # every rank must hold the same weights
        gathered = communicator.gather({k: v.copy() for k, v in weights.items()}, root=0)
        if communicator.Get_rank() == 0:
            for other in gathered[1:]:
                for k, v in other.items():
                    assert np.array_equal(v, weights[k]), f"rank weights differ: {k}"
        if communicator.Get_rank() != 0:
            return
    np.savez(out, losses=np.array(solver.losses), val=np.array([v for _, v in solver.val_history]),
             **{k.replace("/", "__"): v for k, v in weights.items()})


if __name__ == "__main__":
    main(*sys.argv[1:4], *(sys.argv[4:5] or [None]), resume=sys.argv[5:6] == ["resume"])
