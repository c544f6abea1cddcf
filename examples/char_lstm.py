"""Train a small character-level LSTM language model with the functional API alone.

    python examples/char_lstm.py                  # the bundled tinyshakespeare, ~2 minutes
    python examples/char_lstm.py my.txt --seconds 600

Embedding -> LSTM -> affine -> softmax, trained by truncated BPTT with Adam; the
hidden state is carried across consecutive batches. Prints training and validation
loss (nats per character) as it goes, then a sample.
"""
import argparse
import sys
import time

import numpy as np

import rnnlab
from rnnlab.functional import (
    embedding_backward,
    embedding_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    softmax,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from rnnlab.optim import Adam, clip_global_norm


def init_params(rng, V, E, H):
    def uniform(shape, fan_in):
        return (rng.uniform(-1, 1, shape) / fan_in**0.5).astype(np.float32)

    b = np.zeros(4 * H, np.float32)
    b[H : 2 * H] = 1.0  # forget-gate bias 1, as char-rnn
    return dict(W_embed=uniform((V, E), 1), Wx=uniform((E, 4 * H), E), Wh=uniform((H, 4 * H), H),
                b=b, W_out=uniform((H, V), H), b_out=np.zeros(V, np.float32))


def loss_and_grads(p, x, y, h0, c0):
    """One forward/backward pass over a (N, T) batch; returns loss, grads, final (h, c)."""
    emb, emb_cache = embedding_forward(x, p["W_embed"])  # (N, T, E)
    h, lstm_cache = lstm_forward(emb, h0, p["Wx"], p["Wh"], p["b"], c0=c0)  # (N, T, H)
    scores, out_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])  # (N, T, V)
    loss, dscores = temporal_softmax_loss(scores, y)
    dh, dW_out, db_out = temporal_affine_backward(dscores, out_cache)
    demb, _, dWx, dWh, db = lstm_backward(dh, lstm_cache)
    grads = dict(W_embed=embedding_backward(demb, emb_cache), Wx=dWx, Wh=dWh, b=db,
                 W_out=dW_out, b_out=db_out)
    return loss / x.shape[1], grads, (lstm_cache.final_h, lstm_cache.final_c)


def batches(ids, N, T):
    """Connected batches: row n of batch k+1 continues row n of batch k."""
    steps = (len(ids) - 1) // (N * T)
    rows_x = ids[: steps * N * T].reshape(N, steps * T)
    rows_y = ids[1 : steps * N * T + 1].reshape(N, steps * T)
    for k in range(steps):
        yield rows_x[:, k * T : (k + 1) * T], rows_y[:, k * T : (k + 1) * T]


def sample(p, stoi, itos, prime, length, rng, temperature=0.8):
    H = p["Wh"].shape[0]
    h, c = np.zeros((1, H), np.float32), np.zeros((1, H), np.float32)
    out, char = [prime], stoi[prime[0]]
    for k in range(len(prime) + length - 1):
        x = p["W_embed"][[char]]
        h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        if k + 1 < len(prime):
            char = stoi[prime[k + 1]]
            continue
        probs = softmax((h @ p["W_out"] + p["b_out"])[0].astype(np.float64) / temperature)
        char = rng.choice(len(probs), p=probs)
        out.append(itos[char])
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", help="UTF-8 text file (default: bundled tinyshakespeare)")
    parser.add_argument("--seconds", type=float, default=120, help="training time budget")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = args.text or rnnlab.corpus_path()
    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as error:
        sys.exit(f"error: cannot read {path} as UTF-8 text: {error}")
    chars = sorted(set(text))
    stoi, itos = {ch: k for k, ch in enumerate(chars)}, chars
    ids = np.array([stoi[ch] for ch in text], dtype=np.int64)
    split = int(0.95 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    N, T, E, H, lr = 32, 64, 64, args.hidden, 2e-3
    if len(train_ids) < N * T + 1 or len(val_ids) < N * T + 1:
        sys.exit(f"error: {path} is too short: need at least {20 * (N * T + 1)} characters")

    rng = np.random.default_rng(args.seed)
    p = init_params(rng, len(chars), E, H)
    optimizer = Adam(learning_rate=lr)
    step, start, epoch = 0, time.time(), 0
    print(f"{len(text):,} characters, {len(chars)} distinct; LSTM {H}, batch {N} x {T}")
    while time.time() - start < args.seconds:
        h, c = np.zeros((N, H), np.float32), np.zeros((N, H), np.float32)
        for x, y in batches(train_ids, N, T):
            loss, grads, (h, c) = loss_and_grads(p, x, y, h, c)
            clip_global_norm(grads, 5.0)
            optimizer.step(p, grads)
            step += 1
            if step % 50 == 0:
                rate = step * N * T / (time.time() - start)
                print(f"step {step:5d}  train loss {loss:.3f}  {rate:,.0f} chars/s", flush=True)
            if time.time() - start > args.seconds:
                break
        epoch += 1
    val_losses, h, c = [], np.zeros((N, H), np.float32), np.zeros((N, H), np.float32)
    for x, y in batches(val_ids, N, T):
        loss, _, (h, c) = loss_and_grads(p, x, y, h, c)
        val_losses.append(loss)
    print(f"validation loss {np.mean(val_losses):.3f} nats/char after {step} steps "
          f"({time.time() - start:.0f} s)")
    print("sample:\n" + sample(p, stoi, itos, text[0], 300, rng))


if __name__ == "__main__":
    main()
