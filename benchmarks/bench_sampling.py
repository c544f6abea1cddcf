"""Single-stream sampling speed: characters per second generated one at a time by the
default `rnnlab train` model (Embedding 64 -> 2-layer LSTM 256 -> Dense, V = 67),
rnnlab's LanguageModel.generate against a PyTorch step-by-step loop over the same
architecture, in alternating blocks, medians of --repeats runs of --length characters.

    python benchmarks/bench_sampling.py [--length 2000] [--repeats 5] [--hidden 256]
"""

import torch
from harness import block_medians, language_model_parser, machine_description, print_table
from torch_lm import TorchLanguageModel, torch_sample

from rnnlab.models import LanguageModel


def main():
    args = language_model_parser(__doc__, length=2000, repeats=5).parse_args()
    torch.set_num_threads(2)
    V = 67
    ours = LanguageModel(V, embedding_dim=64, hidden_size=args.hidden, num_layers=args.layers, seed=0)
    theirs = TorchLanguageModel(V, 64, args.hidden, args.layers).eval()
    medians = block_medians({
        "rnnlab": lambda: ours.sample(args.length, prime=[1], temperature=0.8, seed=0),
        "pytorch": lambda: torch_sample(theirs, args.length, [1], seed=0),
    }, args.repeats)
    print(machine_description())
    rows = [{"library": name, "chars/s": f"{args.length / seconds:,.0f}"} for name, seconds in medians.items()]
    print_table(["library", "chars/s"], rows)
    print(f"ratio rnnlab / pytorch: {medians['pytorch'] / medians['rnnlab']:.2f}")


if __name__ == "__main__":
    main()
