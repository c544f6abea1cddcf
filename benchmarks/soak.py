"""Soak: many sample/eval cycles in one process, the resident memory read as it goes.

Each cycle loads the checkpoint (verifying its checksums), samples --length characters
and evaluates every character of a --text-chars slice of tinyshakespeare, as a server
answering requests would. Without a CHECKPOINT it trains nothing: it writes the
default preset's model (untrained, V = 65) to a temporary run directory first. The
memory is flat when the growth from cycle 100 to the last is near zero.

    python benchmarks/soak.py [CHECKPOINT] [--cycles 1000] [--length 200] [--text-chars 2000]
"""
import argparse
import tempfile
import time

import rnnlab
from rnnlab.data import Vocab, read_text
from rnnlab.models import LanguageModel
from rnnlab.train import evaluate_tokens, read_checkpoint, write_checkpoint


def resident_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmRSS in /proc/self/status")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--text-chars", type=int, default=2000)
    args = parser.parse_args()
    text = read_text(rnnlab.corpus_path())
    path = args.checkpoint
    if path is None:
        vocab = Vocab.characters(text)
        model = LanguageModel(len(vocab), embedding_dim=64, hidden_size=256, num_layers=2,
                              stateful=True, seed=0)
        path = write_checkpoint(f"{tempfile.mkdtemp()}/ckpt", model, vocab)
    marks, start = {}, time.perf_counter()
    for cycle in range(1, args.cycles + 1):
        checkpoint = read_checkpoint(path)
        vocab = checkpoint.vocab
        prime = vocab.encode("ROMEO:")
        checkpoint.model.sample(args.length, prime=prime, temperature=0.8, seed=cycle,
                                exclude=vocab.special_ids())
        evaluate_tokens(checkpoint.model, vocab.encode(text[: args.text_chars]))
        if cycle in (1, 10, 100) or cycle % 250 == 0 or cycle == args.cycles:
            marks[cycle] = resident_bytes()
            print(f"cycle {cycle:5d}: resident {marks[cycle] / 2**20:7.1f} MiB  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    base = marks.get(100, marks[min(marks)])
    growth = marks[args.cycles] - base
    print(f"growth from cycle {100 if 100 in marks else min(marks)} to {args.cycles}: "
          f"{growth / 2**20:+.1f} MiB ({growth / max(args.cycles - 100, 1) / 1024:+.2f} KiB per cycle)")


if __name__ == "__main__":
    main()
