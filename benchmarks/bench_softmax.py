"""The output layer of a word model: scores = h W + b over V words, softmax
cross-entropy, and the backward to h, W and b, in rnnlab (Dense + the fused
token_softmax_loss, one (N*T, V) buffer) and PyTorch (nn.Linear + cross_entropy), in
float32, in alternating blocks in one process. Default: the PTB sizes of zaremba-small
(20 x 20 tokens, H = 200, V = 10,000) and zaremba-medium (20 x 35, H = 650).

    python benchmarks/bench_softmax.py [--repeats 10] [--json out.json]

Columns: tokens/s and the fraction of the sgemm roofline (6 H V FLOPs per token: one
GEMM forward, two backward).
"""
import argparse

import numpy as np
import torch
from harness import block_medians, machine_description, print_table, sgemm_flops, write_json

from rnnlab.functional import token_softmax_loss
from rnnlab.layers import Dense, TimeDistributed

SIZES = [(20, 20, 200, 10000), (20, 35, 650, 10000)]


def rnnlab_step(N, T, H, V, rng):
    layer = TimeDistributed(Dense(V))
    h = rng.standard_normal((N, T, H)).astype(np.float32)
    y = rng.integers(V, size=(N, T))
    layer.build((T, H), np.float32, rng)

    def step():
        _, dscores = token_softmax_loss(layer.forward(h), y, overwrite=True)
        layer.backward(dscores)

    return step


def torch_step(N, T, H, V):
    layer = torch.nn.Linear(H, V)
    h = torch.randn(N * T, H, requires_grad=True)
    y = torch.randint(V, (N * T,))

    def step():
        torch.nn.functional.cross_entropy(layer(h), y).backward()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    flops = sgemm_flops()
    rows = []
    for N, T, H, V in SIZES:
        times = block_medians({"rnnlab": rnnlab_step(N, T, H, V, rng), "torch": torch_step(N, T, H, V)},
                              args.repeats)
        tok = {name: N * T / seconds for name, seconds in times.items()}
        roofline = flops / (6 * H * V)
        rows.append({"N,T,H,V": f"{N},{T},{H},{V}", "rnnlab tok/s": f"{tok['rnnlab']:,.0f}",
                     "torch tok/s": f"{tok['torch']:,.0f}", "ratio": f"{tok['rnnlab'] / tok['torch']:.2f}",
                     "% roofline": f"{100 * tok['rnnlab'] / roofline:.0f}%",
                     "torch % roofline": f"{100 * tok['torch'] / roofline:.0f}%"})
        print(rows[-1], flush=True)
    print(f"{machine_description()}; sgemm {flops / 1e9:.1f} GFLOP/s")
    print_table(list(rows[0]), rows)
    if args.json:
        write_json(args.json, {"machine": machine_description(), "sgemm_flops": flops, "rows": rows})


if __name__ == "__main__":
    main()
