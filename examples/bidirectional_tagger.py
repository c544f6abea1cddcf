"""A bidirectional tagger on variable-length input: word segmentation of unspaced text.

    python examples/bidirectional_tagger.py [--seconds 45]

Lines of Shakespeare lose their spaces ("tobeornottobe"); the model tags every
character with whether a word starts there. Deciding that needs the letters on both
sides, so a Bidirectional LSTM is compared with a forward-only LSTM of the same size
and budget. Lines have their own lengths: batches are padded with id 0 and the
Embedding's mask (mask_zero) keeps padding out of the states and the loss.
"""
import argparse
import re
import time

import numpy as np

import rnnlab
from rnnlab.functional import token_softmax_loss
from rnnlab.layers import LSTM, Bidirectional, Dense, Embedding, TimeDistributed
from rnnlab.models import Sequential
from rnnlab.optim import Adam, clip_global_norm

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def examples(text):
    """-> (letters, starts) per line: the line without spaces, 1 where a word begins."""
    out = []
    for line in text.lower().splitlines():
        words = re.sub(r"[^a-z ]", "", line).split()
        if len(words) >= 2:
            letters = "".join(words)
            starts = np.zeros(len(letters), np.int64)
            starts[np.cumsum([0] + [len(w) for w in words[:-1]])] = 1
            out.append((letters, starts))
    return out


def padded(batch):
    """-> ids (N, T) (0 = padding), tags (N, T), mask (N, T) for a list of examples."""
    T = max(len(letters) for letters, _ in batch)
    ids, tags = np.zeros((len(batch), T), np.int64), np.zeros((len(batch), T), np.int64)
    for n, (letters, starts) in enumerate(batch):
        ids[n, : len(letters)] = [LETTERS.index(ch) + 1 for ch in letters]
        tags[n, : len(letters)] = starts
    return ids, tags, ids != 0


def make_model(bidirectional, seed):
    recurrent = LSTM(64, return_sequences=True)
    return Sequential([Embedding(len(LETTERS) + 1, 32, mask_zero=True),
                       Bidirectional(recurrent) if bidirectional else recurrent,
                       TimeDistributed(Dense(2))], input_shape=(None,), seed=seed)


def evaluate(model, data):
    """-> (accuracy per character, F1 of the word starts)."""
    ids, tags, mask = padded(data)
    model.eval()
    predicted = model.forward(ids).argmax(axis=-1)
    model.train()
    correct = (predicted == tags)[mask].mean()
    tp = ((predicted == 1) & (tags == 1) & mask).sum()
    precision = tp / max(((predicted == 1) & mask).sum(), 1)
    recall = tp / max(((tags == 1) & mask).sum(), 1)
    return correct, 2 * precision * recall / max(precision + recall, 1e-12)


def train(model, data, seconds, rng):
    optimizer = Adam(learning_rate=5e-3)
    start, iteration = time.time(), 0
    while time.time() - start < seconds:
        batch = [data[k] for k in rng.integers(len(data), size=32)]
        ids, tags, mask = padded(batch)
        model.zero_grad()
        loss, dscores = token_softmax_loss(model.forward(ids), tags, mask)
        model.backward(dscores)
        clip_global_norm(model.grads, 5.0)
        optimizer.step(model.params, model.grads)
        iteration += 1
    return iteration


def segment(model, letters):
    ids, _, _ = padded([(letters, np.zeros(len(letters)))])
    model.eval()
    starts = model.forward(ids)[0].argmax(axis=-1)
    return "".join((" " if s and k else "") + ch for k, (ch, s) in enumerate(zip(letters, starts)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45, help="training budget per model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = examples(open(rnnlab.corpus_path(), encoding="utf-8").read())
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(data))
    test, train_data = [data[k] for k in order[:2000]], [data[k] for k in order[2000:]]
    print(f"{len(data):,} lines, {min(len(x) for x, _ in data)} to "
          f"{max(len(x) for x, _ in data)} letters each")
    for bidirectional in (True, False):
        model = make_model(bidirectional, args.seed)
        iterations = train(model, train_data, args.seconds, rng)
        accuracy, f1 = evaluate(model, test)
        name = "bidirectional LSTM" if bidirectional else "forward-only LSTM "
        print(f"{name}: {accuracy:.1%} of letters tagged right, word-start F1 {f1:.3f} "
              f"({iterations} iterations in {args.seconds:.0f} s)")
        letters = test[0][0]
        print(f"    {letters!r} -> {segment(model, letters)!r}")


if __name__ == "__main__":
    main()
