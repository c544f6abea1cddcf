"""Penn Treebank with the `zaremba-small` recipe in rnnlab and in PyTorch, side by side:
2 x LSTM 200 word model (embedding 200, V = 10,001), batches 20 x 20, SGD lr 1 on the
loss summed over the 20 steps, global-norm clipping 5, every weight U(-0.1, 0.1), no
dropout. Each trains --epochs epochs (one by default) on ptb.train.txt; reported: the
time per epoch, tokens/s and the validation perplexity (state carried through the
whole split, batches 20 x 20) after training.

    python benchmarks/bench_ptb.py [--epochs 1] [--data ../shared/data/ptb] [--json out.json]
"""
import argparse
import math
import time
from pathlib import Path

import torch
from harness import machine_description, print_table, write_json
from torch_lm import TorchLanguageModel, torch_evaluate, torch_loss

from rnnlab.data import LanguageModelBatches, Vocab, read_text
from rnnlab.models import LanguageModel
from rnnlab.train import Solver

N, T, H, LR, CLIP, SCALE = 20, 20, 200, 1.0, 5.0, 0.1


def train_rnnlab(V, train, val, epochs):
    model = LanguageModel(V, embedding_dim=H, hidden_size=H, num_layers=2, stateful=True,
                          seed=0, init_scale=SCALE)
    solver = Solver(model, {"train": train, "val": val}, batch_size=N, seq_length=T,
                    num_epochs=epochs, optimizer="sgd", learning_rate=LR, grad_clip=CLIP,
                    loss_sum_over_time=True, seed=0, verbose=False)
    solver.train()
    return solver.wall_time, solver.val_history[-1][1]


def train_torch(V, train, val, epochs):
    torch.manual_seed(0)
    model = TorchLanguageModel(V, H, H, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-SCALE, SCALE)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    start = time.perf_counter()
    for _ in range(epochs):
        state = None
        for x, y in LanguageModelBatches(train, N, T).batches():
            loss, state = torch_loss(model, x, y, state)
            optimizer.zero_grad()
            (loss * T).backward()  # summed over time, averaged over the batch
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
    seconds = time.perf_counter() - start
    return seconds, torch_evaluate(model, val, N, T)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/ptb"))
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    text = read_text(Path(args.data) / "ptb.train.txt")
    vocab = Vocab.words(text)
    train = vocab.encode(text)
    val = vocab.encode(read_text(Path(args.data) / "ptb.valid.txt"))
    print(machine_description())
    rows = []
    for name, fn in (("rnnlab", train_rnnlab), ("pytorch", train_torch)):
        seconds, val_loss = fn(len(vocab), train, val, args.epochs)
        rows.append({"library": name, "s/epoch": f"{seconds / args.epochs:.0f}",
                     "tokens/s": f"{args.epochs * len(train) / seconds:,.0f}",
                     "valid ppl": f"{math.exp(val_loss):.2f}"})
        print(rows[-1], flush=True)
    print_table(list(rows[0]), rows)
    if args.json:
        write_json(args.json, {"machine": machine_description(), "epochs": args.epochs, "rows": rows})


if __name__ == "__main__":
    main()
