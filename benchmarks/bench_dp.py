"""Data-parallel training on one machine: tokens/s of the `rnnlab train` default model
(Embedding 64 -> 2 x LSTM 256 -> Dense, global batches 32 x 100 of tinyshakespeare, Adam,
clipping) as 1 process x 2 BLAS threads and as 2 processes x 1 thread (rnnlab over MPI,
`Ranks.average`; PyTorch with DistributedDataParallel on gloo), and the time of the one
Allreduce per update.

    python benchmarks/bench_dp.py [--updates 30] [--rounds 3] [--json out.json]

Every configuration runs in processes of its own, the four alternated --rounds times;
each reports the median over --updates timed updates (after 3 untimed); the table
gives the median of the rounds and the lowest round's ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MPIEXEC = str(Path(sys.executable).with_name("mpiexec"))
N, M, WARM = 32, 100, 3


def batches(rank, size, updates):
    from harness import default_corpus

    from rnnlab.data import LanguageModelBatches

    _, (train, _, _) = default_corpus()
    rows = (rank * N // size, (rank + 1) * N // size)
    batcher = LanguageModelBatches(train, N, M, rows=rows)
    return [b for _, b in zip(range(updates + WARM), batcher.batches())]


def rnnlab_worker(updates):
    from rnnlab.models import LanguageModel
    from rnnlab.optim import Adam, clip_global_norm
    from rnnlab.train.parallel import Ranks, launched_communicator

    ranks = Ranks(launched_communicator())
    data = batches(ranks.rank, ranks.size, updates)
    model = LanguageModel(67, embedding_dim=64, hidden_size=256, num_layers=2, stateful=True, seed=0)
    optimizer = Adam(learning_rate=2e-3)
    times, reduce = [], []
    for k, (x, y) in enumerate(data):
        start = time.perf_counter()
        loss = model.loss(x, y)
        before = time.perf_counter()
        if ranks.size > 1:
            ranks.average(model.grads, [loss])
        after = time.perf_counter()
        clip_global_norm(model.grads, 5.0)
        optimizer.step(model.params, model.grads)
        if k >= WARM:
            times.append(time.perf_counter() - start)
            reduce.append(after - before)
    return ranks.root, statistics.median(times), statistics.median(reduce)


def torch_worker(updates):
    import torch
    import torch.distributed as dist
    from torch_lm import TorchLanguageModel, torch_loss

    rank, size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    torch.set_num_threads(int(os.environ["THREADS"]))
    if size > 1:
        dist.init_process_group("gloo", rank=rank, world_size=size)
    torch.manual_seed(0)
    model = TorchLanguageModel(67, 64, 256, 2)
    if size > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    data, state, times = batches(rank, size, updates), None, []
    for k, (x, y) in enumerate(data):
        start = time.perf_counter()
        loss, state = torch_loss(model, x, y, state)
        optimizer.zero_grad()
        loss.backward()  # DDP all-reduces the gradients during the backward
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if k >= WARM:
            times.append(time.perf_counter() - start)
    if size > 1:
        dist.destroy_process_group()
    return rank == 0, statistics.median(times), None


def run(config, updates):
    """One configuration in processes of its own -> (ms per update, ms of the Allreduce)."""
    library, processes = config
    threads = str(2 // processes)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
           "THREADS": threads}
    me = [sys.executable, str(Path(__file__).resolve()), "--worker", library, "--updates", str(updates)]
    if library == "rnnlab":
        command = [MPIEXEC, "-n", str(processes), *me] if processes > 1 else me
        lines = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                               cwd=HERE).stdout.split()
    else:
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29517", WORLD_SIZE=str(processes))
        workers = [subprocess.Popen(me, env={**env, "RANK": str(r)}, stdout=subprocess.PIPE,
                                    text=True, cwd=HERE) for r in range(processes)]
        lines = workers[0].communicate()[0].split()
        for w in workers[1:]:
            w.wait()
    step, reduce = float(lines[0]), lines[1]
    return step, None if reduce == "None" else float(reduce)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker")
    parser.add_argument("--json")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    if args.worker:
        root, step, reduce = (rnnlab_worker if args.worker == "rnnlab" else torch_worker)(args.updates)
        if root:
            print(step, reduce)
        return
    from harness import machine_description, print_table

    print(machine_description())
    configs = [("rnnlab", 1), ("rnnlab", 2), ("pytorch", 1), ("pytorch", 2)]
    results = {c: [] for c in configs}
    for _ in range(args.rounds):
        for config in configs:
            results[config].append(run(config, args.updates))
    rows = []
    for (library, processes), runs in results.items():
        step = statistics.median(s for s, _ in runs)
        reduce = [r for _, r in runs if r is not None]
        rows.append({"library": library, "processes x threads": f"{processes} x {2 // processes}",
                     "tokens/s": f"{N * M / step:,.0f}", "ms/update": f"{1000 * step:.1f}",
                     "allreduce ms": f"{1000 * statistics.median(reduce):.2f}" if processes > 1 and reduce else ""})
    print_table(list(rows[0]), rows)

    def ratio(a, b):
        per_round = [rb[0] / ra[0] for ra, rb in zip(results[a], results[b])]
        return statistics.median(per_round), min(per_round)

    for name, a, b in [("rnnlab 2x1 / rnnlab 1x2", ("rnnlab", 2), ("rnnlab", 1)),
                       ("rnnlab 2x1 / pytorch 2x1", ("rnnlab", 2), ("pytorch", 2)),
                       ("rnnlab best / pytorch best", min((("rnnlab", 1), ("rnnlab", 2)), key=lambda c: statistics.median(s for s, _ in results[c])),
                        min((("pytorch", 1), ("pytorch", 2)), key=lambda c: statistics.median(s for s, _ in results[c])))]:
        median, lowest = ratio(a, b)
        print(f"{name}: {median:.2f}x (lowest round {lowest:.2f}x)")
    if args.json:
        Path(args.json).write_text(json.dumps({f"{l} {p}": r for (l, p), r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
