"""Whole language-model training, end to end: tokens per second of one update
(embedding, LSTM stack, dense softmax, loss, backward, global-norm clipping, Adam) for
the `rnnlab train` default model (Embedding 64 -> 2 x LSTM 256 -> Dense, batches
32 x 100 of tinyshakespeare) in rnnlab and in PyTorch (nn.Embedding + nn.LSTM +
nn.Linear), in alternating blocks in one process, medians of --repeats runs of --updates updates.

    python benchmarks/bench_lm.py [--updates 10] [--repeats 5] [--hidden 256] [--json out.json]
"""

import torch
from harness import block_medians, default_corpus, language_model_parser, machine_description, print_table, write_json
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
    args = language_model_parser(__doc__, updates=10, repeats=5, json=None).parse_args()
    torch.set_num_threads(2)
    vocab, (train, _, _) = default_corpus()
    batches = [batch for _, batch in zip(range(args.updates), LanguageModelBatches(train, 32, 100).batches())]
    medians = block_medians({"rnnlab": rnnlab_updates(len(vocab), batches, args),
                                   "pytorch": torch_updates(len(vocab), batches, args)}, args.repeats)
    tokens = args.updates * 32 * 100
    print(machine_description())
    rows = [{"library": name, "tokens/s": f"{tokens / seconds:,.0f}",
             "ms/update": f"{1e3 * seconds / args.updates:.1f}"} for name, seconds in medians.items()]
    print_table(["library", "tokens/s", "ms/update"], rows)
    ratio = medians["pytorch"] / medians["rnnlab"]
    print(f"ratio rnnlab / pytorch: {ratio:.2f}")
    if args.json:
        write_json(args.json, {"machine": machine_description(), "rows": rows, "ratio": ratio})


if __name__ == "__main__":
    main()
