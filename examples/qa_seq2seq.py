"""A word-level question -> answer model: "What did you eat?" -> "i ate an apple ."

    python examples/qa_seq2seq.py [--seconds 40]

Seq2Seq with a bidirectional LSTM encoder, trained on the "train" rows of
examples/data/qa_pairs.tsv (a few dozen pairs), then asked the held-out paraphrases
("test" rows) and answering them with beam search. Vocabulary: <null> (padding, id 0),
<go>, <eos>, <unk> for words never seen in training. Source words are replaced by
<unk> at random while training (word dropout), so that unseen words do not derail it.
The Solver trains it (Adam, clipping, a time budget); the word dropout is its batcher.
"""
import argparse
import re
import time
from pathlib import Path

import numpy as np

from rnnlab.models import Seq2Seq
from rnnlab.train import Solver

SPECIALS = ["<null>", "<go>", "<eos>", "<unk>"]
NULL, GO, EOS, UNK = range(4)
DATA = Path(__file__).parent / "data" / "qa_pairs.tsv"


def tokenize(sentence):
    return re.findall(r"[a-z]+|[^\sa-z]", sentence.lower())


def read_pairs(path):
    """-> {"train": [(question tokens, answer tokens)], "test": [...]}."""
    pairs = {"train": [], "test": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            split, question, answer = line.split("\t")
            pairs[split].append((tokenize(question), tokenize(answer)))
    return pairs


def vocabulary(sentences):
    words = sorted({w for s in sentences for w in s})
    return SPECIALS + words, {w: k for k, w in enumerate(SPECIALS + words)}


def encode(sentences, index, start_end=False):
    """Token lists -> padded ids (N, T); unknown words -> <unk>."""
    rows = [[index.get(w, UNK) for w in s] for s in sentences]
    if start_end:
        rows = [[GO] + r + [EOS] for r in rows]
    ids = np.zeros((len(rows), max(map(len, rows))), np.int64)
    for n, r in enumerate(rows):
        ids[n, : len(r)] = r
    return ids


class WordDropout:
    """A batcher for the Solver: the whole training set as one batch, each source word
    replaced by <unk> with probability p, drawn afresh from (seed, epoch)."""

    connected = False

    def __init__(self, source, target, p, seed):
        self.source, self.target, self.p, self.seed = source, target, p, seed
        self.tokens_per_batch = int((target != NULL).sum())

    def __len__(self):
        return 1

    def batches(self, epoch=0, start=0):
        rng = np.random.default_rng([self.seed, epoch])
        dropped = (rng.random(self.source.shape) < self.p) & (self.source != NULL)
        for _ in range(start, 1):
            yield np.where(dropped, UNK, self.source), self.target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pairs = read_pairs(DATA)
    questions, answers = zip(*pairs["train"])
    source_words, source_index = vocabulary(questions)
    target_words, target_index = vocabulary(answers)
    source, target = encode(questions, source_index), encode(answers, target_index, True)
    model = Seq2Seq(len(source_words), len(target_words), embedding_dim=32, hidden_size=64,
                    bidirectional=True, start_id=GO, end_id=EOS, seed=args.seed)
    model.summary()
    solver = Solver(model, {"train": WordDropout(source, target, 0.15, args.seed)},
                    num_epochs=100_000, print_every=500, learning_rate=5e-3, grad_clip=5.0,
                    max_time=args.seconds, seed=args.seed, progress=False)
    start = time.time()
    iterations = solver.train()[0][-1]

    def answer(question_tokens):
        ids = model.beam_search(encode([question_tokens], source_index), beam_width=3)[0]
        return [target_words[k] for k in ids]

    right = 0
    for split in ("train", "test"):
        for question, expected in pairs[split]:
            got = answer(question)
            right += split == "test" and got == expected
            if split == "test":
                unknown = [w for w in question if w not in source_index]
                note = f"  (unseen: {', '.join(unknown)})" if unknown else ""
                print(f"{' '.join(question):38s} -> {' '.join(got)}{'' if got == expected else '   [expected: ' + ' '.join(expected) + ']'}{note}")
    train_right = sum(answer(q) == a for q, a in pairs["train"])
    print(f"held-out paraphrases answered exactly: {right}/{len(pairs['test'])}; training "
          f"questions: {train_right}/{len(pairs['train'])} ({iterations} iterations, "
          f"{time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
