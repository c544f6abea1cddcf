"""Whole language-model training, end to end: tokens per second of one update
(embedding, LSTM stack, dense softmax, loss, backward, global-norm clipping, Adam) for
the `rnnlab train` default model (Embedding 64 -> 2 x LSTM 256 -> Dense, batches
32 x 100 of tinyshakespeare) in rnnlab and in PyTorch (nn.Embedding + nn.LSTM +
nn.Linear). Each library in worker processes of its own: two warm-up calls, then the
median of timed calls of --updates updates (at least --calls, and at least
``harness.WORKER_SECONDS`` of them); the workers alternated A B A B
(--pairs times), the median of the process medians; all of it --runs times (the median
run's ratio and the lowest run's).

    python benchmarks/bench_lm.py [--updates 10] [--calls 5] [--pairs 3] [--runs 3]
                                  [--hidden 256] [--json out.json]
"""
import statistics
import sys

import torch
from harness import (
    alternating_processes,
    default_corpus,
    language_model_parser,
    machine_description,
    print_table,
    worker_median,
    write_json,
)
from torch_lm import TorchLanguageModel, torch_loss

from rnnlab.data import LanguageModelBatches
from rnnlab.models import LanguageModel
from rnnlab.optim import Adam, clip_global_norm


def rnnlab_updates(V, batches, args):
    model = LanguageModel(V, embedding_dim=64, hidden_size=args.hidden, num_layers=args.layers,
                          stateful=True, seed=0)
    optimizer = Adam(learning_rate=2e-3)

    def run():
        for x, y in batches:
            model.loss(x, y)
            clip_global_norm(model.grads, 5.0)
            optimizer.step(model.params, model.grads)

    return run


def torch_updates(V, batches, args):
    torch.manual_seed(0)
    model = TorchLanguageModel(V, 64, args.hidden, args.layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def run():
        state = None
        for x, y in batches:
            loss, state = torch_loss(model, x, y, state)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()

    return run


def main():
    args = language_model_parser(__doc__, updates=10, calls=5, pairs=3, runs=3, json=None,
                                 worker=None).parse_args()
    torch.set_num_threads(2)
    if args.worker:
        vocab, (train, _, _) = default_corpus()
        batches = [batch for _, batch in zip(range(args.updates),
                                             LanguageModelBatches(train, 32, 100).batches())]
        updates = {"rnnlab": rnnlab_updates, "pytorch": torch_updates}[args.worker]
        return worker_median(updates(len(vocab), batches, args), args.calls)
    argv = [sys.executable, __file__] + sys.argv[1:] + ["--worker"]
    runs = [alternating_processes({"rnnlab": argv + ["rnnlab"], "pytorch": argv + ["pytorch"]},
                                  args.pairs) for _ in range(args.runs)]
    tokens = args.updates * 32 * 100
    print(machine_description(torch))
    rows = [{"library": name, "tokens/s": f"{tokens / statistics.median(r[name] for r in runs):,.0f}",
             "ms/update": f"{1e3 * statistics.median(r[name] for r in runs) / args.updates:.1f}"}
            for name in ("rnnlab", "pytorch")]
    print_table(["library", "tokens/s", "ms/update"], rows)
    ratios = sorted(r["pytorch"] / r["rnnlab"] for r in runs)
    print(f"ratio rnnlab / pytorch: {statistics.median(ratios):.2f} (lowest of {args.runs} runs: "
          f"{ratios[0]:.2f})")
    if args.json:
        write_json(args.json, {"machine": machine_description(torch), "rows": rows,
                               "ratio": statistics.median(ratios), "lowest": ratios[0]})


if __name__ == "__main__":
    main()
