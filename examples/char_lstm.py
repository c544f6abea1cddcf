"""Many-to-many: a character-level LSTM language model, Keras-style (char-rnn in small).

    python examples/char_lstm.py                  # the bundled tinyshakespeare, ~2 minutes
    python examples/char_lstm.py my.txt --seconds 600 --hidden 512 --layers 2

LanguageModel (Embedding -> LSTM stack -> Dense) trained by truncated BPTT with Adam:
batches are connected, so the model is stateful and carries its hidden state from one
batch to the next. Prints training and validation loss (nats per character) as it
goes, then a sample.
"""
import argparse
import sys
import time

import numpy as np

import rnnlab
from rnnlab.models import LanguageModel
from rnnlab.optim import Adam, clip_global_norm


def batches(ids, N, T):
    """Connected batches: row n of batch k+1 continues row n of batch k."""
    steps = (len(ids) - 1) // (N * T)
    rows_x = ids[: steps * N * T].reshape(N, steps * T)
    rows_y = ids[1 : steps * N * T + 1].reshape(N, steps * T)
    for k in range(steps):
        yield rows_x[:, k * T : (k + 1) * T], rows_y[:, k * T : (k + 1) * T]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", help="UTF-8 text file (default: bundled tinyshakespeare)")
    parser.add_argument("--seconds", type=float, default=120, help="training time budget")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--cell", default="lstm", help="lstm, gru, rnn, layer_norm_lstm, ...")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = args.text or rnnlab.corpus_path()
    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as error:
        sys.exit(f"error: cannot read {path} as UTF-8 text: {error}")
    chars = sorted(set(text))
    stoi = {ch: k for k, ch in enumerate(chars)}
    ids = np.array([stoi[ch] for ch in text], dtype=np.int64)
    split = int(0.95 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    N, T = 32, 64
    if len(train_ids) < N * T + 1 or len(val_ids) < N * T + 1:
        sys.exit(f"error: {path} is too short: need at least {20 * (N * T + 1)} characters")

    model = LanguageModel(len(chars), embedding_dim=64, hidden_size=args.hidden,
                          num_layers=args.layers, cell=args.cell, stateful=True, seed=args.seed)
    optimizer = Adam(learning_rate=2e-3)
    step, start = 0, time.time()
    print(f"{len(text):,} characters, {len(chars)} distinct; {args.layers} x {args.cell} "
          f"{args.hidden}, batch {N} x {T}, {model.count_params():,} parameters")
    while time.time() - start < args.seconds:
        model.reset_states()  # each epoch starts from zero states
        for x, y in batches(train_ids, N, T):
            loss = model.loss(x, y)
            clip_global_norm(model.grads, 5.0)
            optimizer.step(model.params, model.grads)
            step += 1
            if step % 50 == 0:
                rate = step * N * T / (time.time() - start)
                print(f"step {step:5d}  train loss {loss:.3f}  {rate:,.0f} chars/s", flush=True)
            if time.time() - start > args.seconds:
                break
    model.reset_states()
    val_loss = np.mean([model.evaluate(x, y) for x, y in batches(val_ids, N, T)])
    print(f"validation loss {val_loss:.3f} nats/char after {step} steps "
          f"({time.time() - start:.0f} s)")
    sample = model.sample(300, prime=[stoi[ch] for ch in "ROMEO:"], temperature=0.8, seed=args.seed)
    print("sample:\nROMEO:" + "".join(chars[k] for k in sample))


if __name__ == "__main__":
    main()
