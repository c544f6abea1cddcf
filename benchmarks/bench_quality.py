"""Learning quality per wall-clock second: rnnlab against PyTorch on tinyshakespeare.

The same architecture (Embedding 64 -> 2-layer LSTM 256 -> Linear), the same data
(90/5/5 split, batches 32 x 100, full and connected, the state carried across batches
and reset each epoch), Adam 2e-3, global-norm clipping 5, constant learning rate, seed
0 for both; each trains for the same wall-clock budget, then the validation loss
(nats/char) is measured over the whole validation split with the state carried.

    python benchmarks/bench_quality.py [--seconds 180] [--hidden 256] [--json out.json]
"""
import time

import torch
from harness import default_corpus, language_model_parser, machine_description, print_table, write_json
from torch_lm import TorchLanguageModel, torch_evaluate, torch_loss

from rnnlab.data import LanguageModelBatches
from rnnlab.models import LanguageModel
from rnnlab.train import Solver


def train_rnnlab(args, V, train, val):
    model = LanguageModel(V, embedding_dim=64, hidden_size=args.hidden, num_layers=args.layers,
                          stateful=True, seed=args.seed)
    solver = Solver(model, {"train": train, "val": val}, batch_size=32, seq_length=100,
                    num_epochs=1000, learning_rate=2e-3, grad_clip=5.0, max_time=args.seconds,
                    seed=args.seed, verbose=False)
    solver.train()
    return solver.iteration, solver.evaluate()


def train_torch(args, V, train, val):
    torch.manual_seed(args.seed)
    model = TorchLanguageModel(V, 64, args.hidden, args.layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    batches, start, updates = LanguageModelBatches(train, 32, 100), time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds:
        state = None  # each epoch starts from zeros
        for x, y in batches.batches():
            loss, state = torch_loss(model, x, y, state)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            updates += 1
            if time.perf_counter() - start >= args.seconds:
                break
    return updates, torch_evaluate(model, val, 32, 100)


def main():
    args = language_model_parser(__doc__, seconds=180.0, seed=0, json=None).parse_args()
    torch.set_num_threads(2)
    vocab, (train, val, _) = default_corpus()
    print(machine_description())
    rows = []
    for name, fn in (("rnnlab", train_rnnlab), ("pytorch", train_torch)):
        updates, val_loss = fn(args, len(vocab), train, val)
        rows.append({"library": name, "seconds": args.seconds, "updates": updates,
                     "val loss": f"{val_loss:.4f}"})
        print(f"{name}: {updates} updates, validation loss {val_loss:.4f}", flush=True)
    print_table(["library", "seconds", "updates", "val loss"], rows)
    gap = float(rows[0]["val loss"]) - float(rows[1]["val loss"])
    print(f"rnnlab - pytorch = {gap:+.4f} nats/char (the goal: at most +0.01)")
    if args.json:
        write_json(args.json, {"rows": rows, "gap": gap})


if __name__ == "__main__":
    main()
