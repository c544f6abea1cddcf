"""Penn Treebank with the `zaremba-small` recipe in rnnlab and in PyTorch, side by side:
2 x LSTM 200 word model (embedding 200, V = 10,001), batches 20 x 20, SGD lr 1 on the
loss summed over the 20 steps, global-norm clipping 5, every weight U(-0.1, 0.1) (two
biases per LSTM layer; the same initial weights in both), no dropout; the learning
rate halves each epoch after the fourth. Each trains --epochs epochs (one by default;
13 is the whole recipe) on ptb.train.txt; reported: the time per epoch, tokens/s, the
validation perplexity after each epoch (batches 20 x 20, the state carried through)
and the test perplexity at the end (one row: the state carried through the split).

    python benchmarks/bench_ptb.py [--epochs 1] [--library rnnlab|pytorch] [--threads 2]
                                   [--data ../shared/data/ptb] [--json out.json]
"""
import argparse
import math
import time
from pathlib import Path

import torch
from harness import machine_description, print_table, write_json
from torch_lm import TorchLanguageModel, torch_evaluate, torch_loss

from rnnlab.data import LanguageModelBatches, Vocab, read_text
from rnnlab.interop import to_torch
from rnnlab.models import LanguageModel
from rnnlab.optim import ExponentialDecay
from rnnlab.train import Solver, evaluate_loss

N, T, H, LR, CLIP, SCALE = 20, 20, 200, 1.0, 5.0, 0.1
SCHEDULE = ExponentialDecay(0.5, 4)


def initial_model(V):
    """The preset's model: two biases per LSTM layer, as nn.LSTM's bias_ih and bias_hh."""
    return LanguageModel(V, embedding_dim=H, hidden_size=H, num_layers=2, stateful=True,
                         seed=0, init_scale=SCALE, recurrent_bias=True)


def train_rnnlab(V, train, val, test, epochs):
    """-> (training seconds, validation losses after each epoch, test loss)."""
    model = initial_model(V)
    solver = Solver(model, {"train": train, "val": val}, batch_size=N, seq_length=T,
                    num_epochs=epochs, optimizer="sgd", learning_rate=LR, grad_clip=CLIP,
                    schedule=SCHEDULE, loss_sum_over_time=True, seed=0, verbose=False)
    solver.train()
    return (solver.wall_time, [loss for _, loss in solver.val_history],
            evaluate_loss(model, LanguageModelBatches(test, 1, T)))


def train_torch(V, train, val, test, epochs):
    model = TorchLanguageModel(V, H, H, 2)
    start_weights = initial_model(V)  # the same initial weights as rnnlab's
    model.lstm = to_torch(start_weights)
    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(start_weights.params["embedding/W"]))
        model.out.weight.copy_(torch.from_numpy(start_weights.params["time_distributed/dense/W"].T))
        model.out.bias.copy_(torch.from_numpy(start_weights.params["time_distributed/dense/b"]))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    seconds, val_losses = 0.0, []
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = LR * SCHEDULE(0, epoch)
        start, state = time.perf_counter(), None
        for x, y in LanguageModelBatches(train, N, T).batches():
            loss, state = torch_loss(model, x, y, state)
            optimizer.zero_grad()
            (loss * T).backward()  # summed over time, averaged over the batch
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
        seconds += time.perf_counter() - start
        val_losses.append(torch_evaluate(model, val, N, T))
        print(f"pytorch epoch {epoch + 1}: valid perplexity {math.exp(val_losses[-1]):.2f}",
              flush=True)
    return seconds, val_losses, torch_evaluate(model, test, 1, T)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/ptb"))
    parser.add_argument("--library", choices=("rnnlab", "pytorch"), help="only this one")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's threads")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    text = read_text(Path(args.data) / "ptb.train.txt")
    vocab = Vocab.words(text)
    train = vocab.encode(text)
    val, test = (vocab.encode(read_text(Path(args.data) / f"ptb.{split}.txt"))
                 for split in ("valid", "test"))
    print(machine_description())
    rows = []
    for name, fn in (("rnnlab", train_rnnlab), ("pytorch", train_torch)):
        if args.library not in (None, name):
            continue
        seconds, val_losses, test_loss = fn(len(vocab), train, val, test, args.epochs)
        rows.append({"library": name, "s/epoch": f"{seconds / args.epochs:.0f}",
                     "tokens/s": f"{args.epochs * len(train) / seconds:,.0f}",
                     "valid ppl": f"{math.exp(val_losses[-1]):.2f}",
                     "best valid": f"{math.exp(min(val_losses)):.2f}",
                     "test ppl": f"{math.exp(test_loss):.2f}",
                     "valid per epoch": " ".join(f"{math.exp(v):.1f}" for v in val_losses)})
        print(rows[-1], flush=True)
    print_table(list(rows[0]), rows)
    if args.json:
        write_json(args.json, {"machine": machine_description(), "epochs": args.epochs, "rows": rows})


if __name__ == "__main__":
    main()
