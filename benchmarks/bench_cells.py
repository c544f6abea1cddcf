"""Training throughput of rnnlab's LSTM and RNN against torch.nn.LSTM / torch.nn.RNN.

One training step = forward over (N, T, D) inputs + backward from a gradient on every
output, including the input gradient and the weight gradients, in float32. Both
libraries run in this process on the same sizes, interleaved; medians of --repeats.

    python benchmarks/bench_cells.py [--repeats 5] [--json out.json]

Columns: tokens/s (N*T per second), the ratio rnnlab / PyTorch, and the fraction
of the machine's GEMM roofline, tokens/s / (sgemm FLOP/s / FLOPs per token) with
FLOPs per token = 6 (D + H) G, G = 4H (LSTM) or H (RNN): forward 2 (D+H) G, backward
twice that.
"""
import argparse

import numpy as np
import torch
from harness import interleaved_medians, machine_description, print_table, sgemm_flops, write_json

from rnnlab.functional import lstm_backward, lstm_forward, rnn_backward, rnn_forward

SIZES = [(32, 100, 64, 128), (64, 100, 128, 256), (64, 100, 256, 512), (32, 100, 512, 512)]


def rnnlab_step(cell, N, T, D, H, rng):
    G = 4 * H if cell == "lstm" else H
    x = rng.standard_normal((N, T, D), dtype=np.float32)
    h0 = np.zeros((N, H), np.float32)
    Wx = rng.standard_normal((D, G), dtype=np.float32) / np.float32(D**0.5)
    Wh = rng.standard_normal((H, G), dtype=np.float32) / np.float32(H**0.5)
    b = np.zeros(G, np.float32)
    dh = rng.standard_normal((N, T, H), dtype=np.float32)
    forward, backward = (lstm_forward, lstm_backward) if cell == "lstm" else (rnn_forward, rnn_backward)

    def step():
        _, cache = forward(x, h0, Wx, Wh, b)
        backward(dh, cache)

    return step


def torch_step(cell, N, T, D, H):
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.RNN)(D, H, batch_first=True)
    x = torch.randn(N, T, D, requires_grad=True)
    dh = torch.randn(N, T, H)

    def step():
        out, _ = module(x)
        out.backward(dh)

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", default="lstm,rnn")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    flops = sgemm_flops()
    print(f"machine: {machine_description()}; torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); sgemm {flops / 1e9:.1f} GFLOP/s\n")
    rows = []
    for cell in args.cells.split(","):
        for N, T, D, H in SIZES:
            G = 4 * H if cell == "lstm" else H
            times = interleaved_medians(
                {"rnnlab": rnnlab_step(cell, N, T, D, H, rng), "torch": torch_step(cell, N, T, D, H)},
                args.repeats,
            )
            ours, theirs = N * T / times["rnnlab"], N * T / times["torch"]
            roofline = flops / (6 * (D + H) * G)
            rows.append({"cell": cell, "N,T,D,H": f"{N},{T},{D},{H}",
                         "rnnlab tok/s": f"{ours:,.0f}", "torch tok/s": f"{theirs:,.0f}",
                         "ratio": f"{ours / theirs:.2f}", "% roofline": f"{100 * ours / roofline:.0f}%",
                         "torch % roofline": f"{100 * theirs / roofline:.0f}%"})
            print(rows[-1], flush=True)
    print()
    print_table(list(rows[0]), rows)
    if args.json:
        write_json(args.json, {"sgemm_flops": flops, "machine": machine_description(), "rows": rows})


if __name__ == "__main__":
    main()
