"""Training and inference throughput of rnnlab's cells against torch.nn.LSTM / GRU / RNN,
the memory each keeps for its backward, and the cost of the LSTM variants relative to
the plain LSTM.

One training step = forward over (N, T, D) inputs + backward from a gradient on every
output, including the input gradient and the weight gradients, in float32. Each library
runs in worker processes of its own, one per (library, cell, size, mode): two warm-up
calls, then the median of timed calls, at least --calls of them and at least --seconds
of them in all (so that a small size is not timed over a few milliseconds of a shared
machine); the two libraries' workers alternated
A B A B (--pairs times), the median of the process medians; all of it --runs times: the
ratio shown is the median run's, beside the lowest run's.

    python benchmarks/bench_cells.py [--runs 3] [--pairs 3] [--calls 5] [--seconds 1]
                                     [--cells lstm,gru,rnn]
                                     [--sizes 0,1,2,3,4] [--variants] [--against-itself]
                                     [--json out.json]

Columns: tokens/s (N*T per second), the ratio rnnlab / PyTorch, and the fraction of
the machine's GEMM roofline, tokens/s / (sgemm FLOP/s / FLOPs per token) with FLOPs
per token = 6 (D + H) G, G = 4H (LSTM), 3H (GRU), H (RNN): forward 2 (D + H) G,
backward twice that. Inference: one forward without a cache for a backward pass
(``lstm_inference``; the GRU's and RNN's forward), against PyTorch under
torch.inference_mode(). Cache: the bytes per token a forward keeps for its backward,
against the minimum, the gate activations and the states (LSTM 4H + 2H floats, GRU
3H + H, RNN H). --variants times each LSTM option (and the Clockwork RNN) against
the plain LSTM of the same size: time per step relative to it. --against-itself times
each library against itself by the same protocol instead (two identical workers): the
spread of those ratios around 1.00 is the machine's noise, the margin that a real lead
needs for its lowest run to stay above 1.00.
"""
import argparse
import statistics
import sys

import numpy as np
import torch
from harness import (
    alternating_processes,
    block_medians,
    machine_description,
    print_table,
    sgemm_flops,
    WORKER_SECONDS,
    worker_median,
    write_json,
)

from rnnlab.functional import (
    clockwork_backward,
    clockwork_forward,
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    lstm_inference,
    rnn_backward,
    rnn_forward,
)

SIZES = [(32, 100, 64, 128), (64, 100, 128, 256), (64, 100, 256, 512), (32, 100, 512, 512), (16, 50, 1024, 1024)]
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
TORCH_MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
VARIANT_SIZE = (32, 100, 128, 256)
WEIGHTS = {"Wx", "Wh", "bh", "w"}  # cache fields that are the caller's weights
# floats per token a backward cannot do without: the gate activations and the states
MINIMUM_CACHE = {"lstm": lambda H: 4 * H + 2 * H, "gru": lambda H: 3 * H + H, "rnn": lambda H: H}


def rnnlab_closures(cell, N, T, D, H, rng, **options):
    """-> (train, infer, cache): closures running one forward + backward, and one
    inference forward, of ``cell`` ("lstm", "gru", "rnn", "clockwork") with ``options``
    passed to the LSTM forward; and one forward's cache (to measure its bytes)."""
    G = (3 if options.get("cifg") else GATES.get(cell, 1)) * H
    rand = lambda *shape, scale=1.0: (rng.standard_normal(shape) * scale).astype(np.float32)  # noqa: E731
    x, dh = rand(N, T, D), rand(N, T, options["Wp"].shape[1] if "Wp" in options else H)
    h0 = np.zeros((N, dh.shape[2]), np.float32)
    Wx, Wh = rand(D, G, scale=D**-0.5), rand(h0.shape[1], G, scale=H**-0.5)
    b = rand(2, G) if cell == "gru" else rand(G)
    forward, backward = {
        "lstm": (lambda: lstm_forward(x, h0, Wx, Wh, b, **options), lstm_backward),
        "gru": (lambda: gru_forward(x, h0, Wx, Wh, b), gru_backward),
        "rnn": (lambda: rnn_forward(x, h0, Wx, Wh, b), rnn_backward),
        "clockwork": (lambda: clockwork_forward(x, h0, Wx, Wh, b, periods=(1, 2, 4, 8)),
                      clockwork_backward),
    }[cell]

    def train():
        _, cache = forward()
        backward(dh, cache)

    infer = (lambda: lstm_inference(x, h0, Wx, Wh, b, **options)) if cell == "lstm" else forward
    return train, infer, forward()[1]


def cache_bytes_per_token(cache, N, T):
    """Bytes of the arrays a forward keeps for its backward (weights aside), per token."""
    arrays = [v for k, v in vars(cache).items() if isinstance(v, np.ndarray) and k not in WEIGHTS]
    return sum(a.nbytes for a in arrays) / (N * T)


def torch_closures(cell, N, T, D, H):
    module = TORCH_MODULES[cell](D, H, batch_first=True)
    x = torch.randn(N, T, D, requires_grad=True)
    dh = torch.randn(N, T, H)

    def train():
        out, _ = module(x)
        out.backward(dh)

    def infer():
        with torch.inference_mode():
            module(x)

    return train, infer


MODES = ("train", "infer")


def worker(args):
    """One measurement in this process: ``args.worker`` ("rnnlab" or "torch")."""
    N, T, D, H = map(int, args.size.split(","))
    if args.worker == "torch":
        closures = torch_closures(args.cell, N, T, D, H)
    else:
        closures = rnnlab_closures(args.cell, N, T, D, H, np.random.default_rng(0))[:2]
    worker_median(closures[MODES.index(args.mode)], args.calls, seconds=args.seconds)


def worker_argv(cell, size, mode, library, args):
    """The command line of one worker process."""
    return [sys.executable, __file__, "--cell", cell, "--mode", mode, "--size", ",".join(map(str, size)),
            "--calls", str(args.calls), "--seconds", str(args.seconds), "--worker", library]


def against_torch(cells, sizes, args, flops):
    """-> one row per (cell, size): each mode's tokens/s, ratio (median run, lowest run)
    and roofline fractions."""
    runs = {}  # (cell, size, mode) -> [(ours s, torch s)] per run
    for _ in range(args.runs):
        for cell in cells:
            for size in sizes:
                for mode in MODES:
                    times = alternating_processes({"ours": worker_argv(cell, size, mode, "rnnlab", args),
                                                   "torch": worker_argv(cell, size, mode, "torch", args)},
                                                  args.pairs)
                    runs.setdefault((cell, size, mode), []).append((times["ours"], times["torch"]))
                    print(cell, size, mode, f"{times['torch'] / times['ours']:.2f}", flush=True)
    rows = []
    for cell in cells:
        for N, T, D, H in sizes:
            row = {"cell": cell, "N,T,D,H": f"{N},{T},{D},{H}"}
            flops_per_token = 6 * (D + H) * GATES[cell] * H  # training; inference a third
            for mode in MODES:
                pairs = runs[(cell, (N, T, D, H), mode)]
                ratios = sorted(theirs / ours for ours, theirs in pairs)
                ours = statistics.median(t for t, _ in pairs)
                theirs = statistics.median(t for _, t in pairs)
                per_token = flops_per_token / (1 if mode == "train" else 3)
                row.update({f"{mode} tok/s": f"{N * T / ours:,.0f}",
                            f"{mode} vs torch": f"{statistics.median(ratios):.2f}",
                            f"{mode} lowest": f"{ratios[0]:.2f}",
                            f"{mode} % roofline": f"{100 * N * T / ours * per_token / flops:.0f}%",
                            f"torch {mode} % roofline": f"{100 * N * T / theirs * per_token / flops:.0f}%"})
            _, _, cache = rnnlab_closures(cell, N, T, D, H, np.random.default_rng(0))
            row.update({"cache B/tok": f"{cache_bytes_per_token(cache, N, T):,.0f}",
                        "minimum B/tok": f"{4 * MINIMUM_CACHE[cell](H):,}"})
            rows.append(row)
    return rows


def against_itself(cells, sizes, args):
    """-> one row per (cell, size, mode, library): the library timed against itself by the
    same protocol (two identical workers alternated, --pairs of them, --runs times), the
    ratio's median run and lowest run: how far from 1.00 the machine's noise alone moves a
    ratio, and so how far above 1.00 a lowest run needs a real lead."""
    rows = []
    for cell in cells:
        for size in sizes:
            for mode in MODES:
                for library in ("rnnlab", "torch"):
                    argv = worker_argv(cell, size, mode, library, args)
                    ratios = sorted(times["a"] / times["b"] for times in (
                        alternating_processes({"a": argv, "b": argv}, args.pairs) for _ in range(args.runs)))
                    rows.append({"cell": cell, "N,T,D,H": ",".join(map(str, size)), "mode": mode,
                                 "library": library, "median run": f"{statistics.median(ratios):.2f}",
                                 "lowest run": f"{ratios[0]:.2f}", "highest run": f"{ratios[-1]:.2f}"})
                    print(*list(rows[-1].values()), flush=True)
    return rows


def variants(repeats, rng):
    N, T, D, H = VARIANT_SIZE
    r = lambda *shape: (rng.standard_normal(shape) * 0.1).astype(np.float32)  # noqa: E731
    options = {
        "peepholes i,f,o": dict(peepholes={"p_" + g: r(H) for g in "ifo"}),
        "cifg": dict(cifg=True),
        "projection P=H/2": dict(Wp=r(H, H // 2)),
        "cell_clip": dict(cell_clip=3.0),
        "gate_clip": dict(gate_clip=3.0),
        "layer_norm": dict(layer_norm={"gamma_x": r(4 * H) + 1, "gamma_h": r(4 * H) + 1,
                                       "gamma_c": r(H) + 1, "beta_c": r(H)}),
    }
    steps = {"plain LSTM": rnnlab_closures("lstm", N, T, D, H, rng)[0]}
    steps.update({name: rnnlab_closures("lstm", N, T, D, H, rng, **kw)[0] for name, kw in options.items()})
    steps["Clockwork RNN (4 modules)"] = rnnlab_closures("clockwork", N, T, D, H, rng)[0]
    steps["vanilla RNN"] = rnnlab_closures("rnn", N, T, D, H, rng)[0]
    times = block_medians(steps, repeats)
    base = times["plain LSTM"]
    return [{"variant": name, "N,T,D,H": ",".join(map(str, VARIANT_SIZE)),
             "tok/s": f"{N * T / t:,.0f}", "time / plain LSTM": f"{t / base:.2f}"}
            for name, t in times.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="whole alternations (lowest shown)")
    parser.add_argument("--pairs", type=int, default=3, help="A B pairs of workers per run")
    parser.add_argument("--calls", type=int, default=5, help="timed calls per worker, at least")
    parser.add_argument("--seconds", type=float, default=WORKER_SECONDS,
                        help="timed seconds per worker, at least")
    parser.add_argument("--repeats", type=int, default=5, help="--variants: runs per block")
    parser.add_argument("--cells", default="lstm,gru,rnn")
    parser.add_argument("--sizes", default=",".join(map(str, range(len(SIZES)))),
                        help="indices into the sizes " + " ".join(map(str, SIZES)))
    parser.add_argument("--variants", action="store_true", help="also time the LSTM variants")
    parser.add_argument("--against-itself", action="store_true",
                        help="instead, time each library against itself: the protocol's noise")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--worker", choices=("rnnlab", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    rng = np.random.default_rng(0)
    flops = sgemm_flops()
    print(f"machine: {machine_description(torch)}; sgemm {flops / 1e9:.1f} GFLOP/s\n")
    sizes = [SIZES[int(k)] for k in args.sizes.split(",") if k]
    cells = [c for c in args.cells.split(",") if c]
    protocol = {k: getattr(args, k) for k in ("runs", "pairs", "calls", "seconds")}
    rows = against_itself(cells, sizes, args) if args.against_itself else against_torch(cells, sizes, args, flops)
    if rows:
        print()
        print_table(list(rows[0]), rows)
    if args.against_itself:
        if args.json:
            write_json(args.json, {"machine": machine_description(torch), "protocol": protocol,
                                   "against_itself": rows})
        return
    variant_rows = variants(args.repeats, rng) if args.variants else []
    if variant_rows:
        print()
        print_table(list(variant_rows[0]), variant_rows)
    if args.json:
        write_json(args.json, {"sgemm_flops": flops, "machine": machine_description(torch),
                               "protocol": protocol, "rows": rows, "variants": variant_rows})


if __name__ == "__main__":
    main()
