"""Many-to-many: a character-level LSTM language model (char-rnn in small).

    python examples/char_lstm.py                  # the bundled tinyshakespeare, ~2 minutes
    python examples/char_lstm.py my.txt --seconds 600 --hidden 512 --layers 2

A stateful LanguageModel (Embedding -> LSTM stack -> Dense) trained by the Solver:
truncated BPTT over connected batches (the hidden state carried from one batch to
the next), Adam, clipping, the validation loss (nats per character) every 200
updates; then a sample.
"""
import argparse
import sys

import rnnlab
from rnnlab.data import CorpusError, Vocab, read_text, split_ids
from rnnlab.models import LanguageModel
from rnnlab.train import Solver


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", help="UTF-8 text file (default: bundled tinyshakespeare)")
    parser.add_argument("--seconds", type=float, default=120, help="training time budget")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--cell", default="lstm", help="lstm, gru, rnn, layer_norm_lstm, ...")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        text = read_text(args.text or rnnlab.corpus_path())
    except CorpusError as error:
        sys.exit(f"error: {error}")
    vocab = Vocab.characters(text)
    train, val, _ = split_ids(vocab.encode(text))
    N, T = 32, 64
    if min(len(train), len(val)) < N * T:
        sys.exit(f"error: {args.text} is too short: need at least {20 * N * T} characters")
    model = LanguageModel(len(vocab), embedding_dim=64, hidden_size=args.hidden,
                          num_layers=args.layers, cell=args.cell, stateful=True, seed=args.seed)
    print(f"{len(text):,} characters, {len(vocab)} symbols; {args.layers} x {args.cell} "
          f"{args.hidden}, batch {N} x {T}, {model.count_params():,} parameters")
    solver = Solver(model, {"train": train, "val": val}, batch_size=N, seq_length=T,
                    num_epochs=1000, print_every=50, learning_rate=2e-3, eval_every=200,
                    eval_batches=20, max_time=args.seconds, seed=args.seed, progress=False)
    solver.train()
    model.reset_states()
    val_loss = solver.evaluate()
    print(f"validation loss {val_loss:.3f} nats/char after {solver.iteration} updates "
          f"({solver.wall_time:.0f} s, {solver.tokens / solver.wall_time:,.0f} chars/s)")
    sample = model.sample(300, prime=vocab.encode("ROMEO:"), temperature=0.8, seed=args.seed)
    print("sample:\nROMEO:" + vocab.decode(sample))


if __name__ == "__main__":
    main()
