"""``rnnlab train [TEXT_FILE]``: train a language model on a text file.

Settings come from, in rising priority: the preset (``--preset default|large``), a JSON
config file (``--config``, keys as the options with underscores), and the options given.
"""
import argparse
import json
import math
import signal
import sys
from pathlib import Path

from .. import corpus_path
from ..data import Vocab, read_text, split_ids
from ..data.batching import LanguageModelBatches
from ..models import LanguageModel
from ..models.stack import CELLS
from ..optim import Cosine, ExponentialDecay
from ..train import Solver, evaluate_loss
from ..train.checkpoint import read_checkpoint, resolve
from .options import fraction, non_negative_int, positive_float, positive_int, probability

COMMON = dict(optimizer="adam", decay_after=1, init_scale=None, tie_weights=False,
              embedding_dropout=0.0, sum_loss_over_time=False, recurrent_bias=False)
# two biases per LSTM layer (recurrent_bias), as the paper's Torch code and PyTorch's nn.LSTM
ZAREMBA = dict(COMMON, level="word", cell="lstm", num_layers=2, optimizer="sgd", lr=1.0,
               grad_clip=5.0, batch_size=20, sum_loss_over_time=True, eval_every=None, seed=0,
               max_time=None, recurrent_bias=True)
PRESETS = {
    # 2 x 256 LSTM: at most 10 minutes on 2 cores, validation loss at most 1.45 nats/char
    "default": dict(COMMON, level="char", cell="lstm", hidden_size=256, num_layers=2,
                    embedding_size=64, dropout=0.0, seq_length=100, batch_size=32, lr=2e-3,
                    lr_decay=None, grad_clip=5.0, epochs=8, max_time=None, eval_every=250, seed=0),
    # 2 x 512 LSTM with dropout: at most 60 minutes on 2 cores, at most 1.38 nats/char
    "large": dict(COMMON, level="char", cell="lstm", hidden_size=512, num_layers=2,
                  embedding_size=64, dropout=0.3, seq_length=100, batch_size=32, lr=2e-3,
                  lr_decay=None, grad_clip=5.0, epochs=13, max_time=None, eval_every=500, seed=0),
    # Zaremba et al. 2014, Penn Treebank: SGD on the loss summed over time, U(-s, s) weights
    "zaremba-small": dict(ZAREMBA, hidden_size=200, embedding_size=200, dropout=0.0,
                          embedding_dropout=0.0, seq_length=20, lr_decay=0.5, decay_after=4,
                          epochs=13, init_scale=0.1),
    "zaremba-medium": dict(ZAREMBA, hidden_size=650, embedding_size=650, dropout=0.5,
                           embedding_dropout=0.5, seq_length=35, lr_decay=0.8, decay_after=6,
                           epochs=39, init_scale=0.05),
    # beyond the paper: input and output embeddings tied (Press & Wolf 2017)
    "medium-tied": dict(ZAREMBA, hidden_size=650, embedding_size=650, dropout=0.5,
                        embedding_dropout=0.5, seq_length=35, lr_decay=0.8, decay_after=6,
                        epochs=39, init_scale=0.05, tie_weights=True),
}
SETTINGS = tuple(PRESETS["default"])
CHECKS = {  # the value checks of the numeric settings, for options and config files alike
    "hidden_size": positive_int("--hidden-size"), "num_layers": positive_int("--num-layers"),
    "embedding_size": positive_int("--embedding-size"), "dropout": fraction("--dropout"),
    "embedding_dropout": fraction("--embedding-dropout"),
    "seq_length": positive_int("--seq-length"), "batch_size": positive_int("--batch-size"),
    "lr": positive_float("--lr"), "lr_decay": probability("--lr-decay"),
    "decay_after": positive_int("--decay-after"), "init_scale": positive_float("--init-scale"),
    "grad_clip": positive_float("--grad-clip"), "epochs": positive_int("--epochs"),
    "max_time": positive_float("--max-time"), "eval_every": positive_int("--eval-every"),
    "seed": non_negative_int("--seed"),
}
CHOICES = {"level": ("char", "word"), "cell": tuple(sorted(CELLS)), "optimizer": ("adam", "sgd"),
           "tie_weights": (False, True), "sum_loss_over_time": (False, True),
           "recurrent_bias": (False, True)}


class CLIError(ValueError):
    """A user's mistake on the command line, said in one line."""


def add_arguments(parser):
    parser.add_argument("text_file", nargs="?", help="UTF-8 text (default: the bundled tinyshakespeare)")
    parser.add_argument("--train", metavar="FILE", help="training split (instead of TEXT_FILE's "
                        "90/5/5 split; the vocabulary is this file's), with --valid")
    parser.add_argument("--valid", metavar="FILE", help="validation split, with --train")
    parser.add_argument("--test", metavar="FILE", help="test split, evaluated at the end")
    parser.add_argument("--preset", choices=list(PRESETS), default="default",
                        help="default: 2 x LSTM 256, 8 epochs (under 10 minutes on 2 cores); "
                        "large: 2 x LSTM 512, dropout 0.3, 13 epochs (under an hour); "
                        "zaremba-small, zaremba-medium: Zaremba et al. 2014 on word-level Penn "
                        "Treebank; medium-tied: zaremba-medium with tied embeddings. Options "
                        "not given take the preset's value")
    parser.add_argument("--config", metavar="FILE.json", help="settings as JSON, keys as the options")
    parser.add_argument("--level", choices=CHOICES["level"], help="tokens: characters (char-rnn) "
                        "or whitespace-separated words with <eos> at line ends")
    parser.add_argument("--cell", choices=CHOICES["cell"], help="the recurrent cell")
    parser.add_argument("--hidden-size", type=CHECKS["hidden_size"], help="units per layer")
    parser.add_argument("--num-layers", type=CHECKS["num_layers"])
    parser.add_argument("--embedding-size", type=CHECKS["embedding_size"])
    parser.add_argument("--dropout", type=CHECKS["dropout"], help="after each recurrent layer")
    parser.add_argument("--embedding-dropout", type=CHECKS["embedding_dropout"],
                        help="on the embedding's output")
    parser.add_argument("--tie-weights", action="store_const", const=True,
                        help="score with the embedding matrix (embedding size = hidden size)")
    parser.add_argument("--init-scale", type=CHECKS["init_scale"],
                        help="every weight U(-s, s) (default: Glorot/orthogonal, as Keras)")
    parser.add_argument("--recurrent-bias", action="store_const", const=True,
                        help="a second bias on h Wh, as PyTorch and the Torch code of Zaremba "
                        "et al. (lstm, rnn)")
    parser.add_argument("--optimizer", choices=CHOICES["optimizer"])
    parser.add_argument("--sum-loss-over-time", action="store_const", const=True,
                        help="gradient of the loss summed over the steps (Zaremba et al.)")
    parser.add_argument("--seq-length", type=CHECKS["seq_length"],
                        help="steps per batch row (truncated BPTT length)")
    parser.add_argument("--batch-size", type=CHECKS["batch_size"], help="rows per batch")
    parser.add_argument("--lr", type=CHECKS["lr"], help="learning rate")
    parser.add_argument("--lr-decay", type=CHECKS["lr_decay"],
                        help="per-epoch decay factor (default: cosine decay to 10%% over the run)")
    parser.add_argument("--decay-after", type=CHECKS["decay_after"],
                        help="epochs at the full rate before --lr-decay starts (default: 1)")
    parser.add_argument("--grad-clip", type=CHECKS["grad_clip"], help="global norm")
    parser.add_argument("--epochs", type=CHECKS["epochs"])
    parser.add_argument("--max-time", type=CHECKS["max_time"], help="seconds")
    parser.add_argument("--eval-every", type=CHECKS["eval_every"],
                        help="validation loss (and a checkpoint when it is the best) every so many updates")
    parser.add_argument("--seed", type=CHECKS["seed"], help="initial weights, data "
                        "order, dropout: the run is deterministic")
    parser.add_argument("--out", metavar="DIR", help="run directory (default: runs/<file name>)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR exactly")
    parser.add_argument("--sample-length", type=non_negative_int("--sample-length"), default=300,
                        help="characters (or words) to sample at the end (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="plain lines, no progress bar")


def settings_from(args):
    settings = dict(PRESETS[args.preset])
    if args.config:
        settings.update(_read_config(args.config))
    for name in SETTINGS:
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    if settings["recurrent_bias"] and not CELLS[settings["cell"]].supports_recurrent_bias:
        raise CLIError(f"--recurrent-bias: the {settings['cell']} cell has no second bias to add; "
                       f"use it with lstm, layer_norm_lstm or rnn")
    return settings


def _read_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except OSError as error:
        raise CLIError(f"--config {path}: cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CLIError(f"--config {path}: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise CLIError(f"--config {path}: expected a JSON object of settings")
    unknown = sorted(set(config) - set(SETTINGS))
    if unknown:
        raise CLIError(f"--config {path}: unknown setting {unknown[0]!r}; known: {', '.join(SETTINGS)}")
    for name, value in config.items():
        if name in CHECKS and value is not None:
            try:
                CHECKS[name](str(value))
            except argparse.ArgumentTypeError as error:
                raise CLIError(f"--config {path}: {name} {str(error).split(': ', 1)[1]}") from None
    for name, choices in CHOICES.items():
        if name in config and config[name] not in choices:
            raise CLIError(f"--config {path}: {name} must be one of "
                           f"{', '.join(json.dumps(c) for c in choices)}, got {json.dumps(config[name])}")
    return config


def run(args):
    if args.resume:
        return _resume(args)
    settings = settings_from(args)
    files = _files(args)
    train, val, test, vocab, path, characters = _read_data(files, settings["level"])
    N, M = settings["batch_size"], settings["seq_length"]
    if len(train) < N * M + 1:
        raise CLIError(f"{path}: {len(train):,} training tokens cannot fill one batch of "
                       f"--batch-size x --seq-length + 1 = {N * M + 1:,}; use a longer "
                       f"text or smaller batches")
    data = {"train": train, "val": _validation_batches(val, settings, files.get("valid_file", path))}
    test = None if test is None else _validation_batches(test, settings, files["test_file"], 1)
    out = Path(args.out) if args.out else Path("runs") / path.stem
    _check_out(out)
    model = LanguageModel(len(vocab), embedding_dim=settings["embedding_size"],
                          hidden_size=settings["hidden_size"], num_layers=settings["num_layers"],
                          cell=settings["cell"], dropout=settings["dropout"], stateful=True,
                          seed=settings["seed"], tie_weights=settings["tie_weights"],
                          init_scale=settings["init_scale"],
                          embedding_dropout=settings["embedding_dropout"],
                          recurrent_bias=settings["recurrent_bias"])
    per_epoch = len(train) // (N * M)
    print(f"{path}: {characters:,} characters, {len(vocab):,} {settings['level']} types; "
          f"{settings['num_layers']} x {settings['cell']} {settings['hidden_size']}, "
          f"{model.count_params():,} parameters; {settings['epochs']} epochs of {per_epoch} "
          f"updates; run directory {out}", flush=True)
    solver = Solver(model, data, batch_size=N, seq_length=M, num_epochs=settings["epochs"],
                    print_every=min(50, settings["eval_every"] or 50), learning_rate=settings["lr"],
                    optimizer=settings["optimizer"], schedule=_schedule(settings, per_epoch),
                    grad_clip=settings["grad_clip"], eval_every=settings["eval_every"],
                    max_time=settings["max_time"], checkpoint_dir=out, vocab=vocab,
                    seed=settings["seed"], loss_sum_over_time=settings["sum_loss_over_time"],
                    progress=False if args.no_progress else None)
    (out / "settings.json").write_text(json.dumps({**settings, **files}, indent=1))
    return _train(solver, out, args.sample_length, test, files.get("test_file"))


def _files(args):
    """The text files of the run: TEXT_FILE (split 90/5/5) or --train/--valid/--test."""
    if args.train or args.valid:
        if not (args.train and args.valid):
            raise CLIError("--train and --valid go together: give both split files")
        if args.text_file:
            raise CLIError(f"{args.text_file}: give either TEXT_FILE or --train/--valid, not both")
        files = {"train_file": args.train, "valid_file": args.valid}
    else:
        files = {"text_file": str(Path(args.text_file) if args.text_file else corpus_path())}
    if args.test:
        files["test_file"] = args.test
    return files


def _read_data(files, level, vocab=None):
    """-> train, val, test ids (test None without a test file), the vocabulary (built
    from the training text unless given), the training file and its length in characters."""
    make_vocab = Vocab.characters if level == "char" else Vocab.words
    test = None  # a TEXT_FILE's 5% test part stays unseen; only a test file is evaluated
    if "text_file" in files:
        path = Path(files["text_file"])
        text = read_text(path)
        vocab = vocab or make_vocab(text)
        train, val, _ = split_ids(vocab.encode(text))
    else:
        path = Path(files["train_file"])
        text = read_text(path)
        vocab = vocab or make_vocab(text)
        train, val = vocab.encode(text), vocab.encode(read_text(files["valid_file"]))
    if "test_file" in files:
        test = vocab.encode(read_text(files["test_file"]))
    return train, val, test, vocab, path, len(text)


def _schedule(settings, per_epoch):
    if settings["lr_decay"]:
        return ExponentialDecay(settings["lr_decay"], settings["decay_after"])
    return Cosine(settings["epochs"] * per_epoch, 0.1)


def _resume(args):
    try:
        checkpoint = read_checkpoint(args.resume)
    except ValueError as error:
        raise CLIError(f"--resume {args.resume}: {error}") from None
    settings_file = resolve(args.resume).parent / "settings.json"
    if checkpoint.state is None or not settings_file.exists():
        raise CLIError(f"--resume {args.resume}: not a run directory of `rnnlab train` "
                       f"(no training state or settings.json)")
    settings = json.loads(settings_file.read_text())
    for name in ("epochs", "max_time"):  # what a resumed run may change
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.text_file:
        settings["text_file"] = args.text_file
    files = {k: settings[k] for k in ("text_file", "train_file", "valid_file", "test_file")
             if k in settings}
    vocab = checkpoint.vocab
    train, val, test, _, path, _ = _read_data(files, vocab.level, vocab)
    data = {"train": train, "val": _validation_batches(val, settings, files.get("valid_file", path))}
    test = None if test is None else _validation_batches(test, settings, files["test_file"], 1)
    solver = Solver.resume(checkpoint.path, data, num_epochs=settings["epochs"],
                           max_time=settings["max_time"],
                           progress=False if args.no_progress else None)
    out = checkpoint.path.parent
    settings_file.write_text(json.dumps(settings, indent=1))
    print(f"resuming {out} at update {solver.iteration} (epoch {solver.epoch})", flush=True)
    return _train(solver, out, args.sample_length, test, files.get("test_file"))


def _validation_batches(ids, settings, path, max_rows=None):
    """A held-out split in as many rows of seq_length as fit, at most ``max_rows``
    (default batch_size). The test split is read as one row: the state is carried
    through the whole split, as Zaremba et al. evaluate."""
    M = settings["seq_length"]
    rows = min(max_rows or settings["batch_size"], (len(ids) - 1) // M)
    if rows < 1:
        raise CLIError(f"{path}: the held-out split ({len(ids):,} tokens) is shorter than "
                       f"--seq-length {M} + 1; use a longer text or a shorter --seq-length")
    return LanguageModelBatches(ids, rows, M)


def _check_out(out):
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out}: is a file, expected a directory")
    if out.is_dir() and (any(out.glob("ckpt-*")) or (out / "latest.json").exists()):
        raise CLIError(f"--out {out}: already holds a training run; continue it with "
                       f"--resume {out} or choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rnnlab-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise CLIError(f"--out {out}: not writable ({error.strerror})") from None


def _train(solver, out, sample_length, test=None, test_file=None):
    """Train with Ctrl-C saving a checkpoint; then say where everything is, evaluate
    the test batches (when there are some) and sample."""
    def interrupt(signum, frame):
        if solver.stop_requested:
            raise KeyboardInterrupt
        solver.stop_requested = True
        print("\ninterrupted: finishing this update and saving a checkpoint (Ctrl-C again to "
              "quit without saving)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        solver.train()
    finally:
        signal.signal(signal.SIGINT, previous)
    model, vocab = solver.model, solver.vocab
    best = f" (best validation loss {solver.best_val:.4f} at update {solver.best_iteration})" \
        if solver.best_val is not None else ""
    print(f"stopped: {solver.stopped_because or 'all epochs done'} after {solver.iteration} updates, "
          f"{solver.wall_time:.0f} s{best}")
    print(f"checkpoint: {resolve(out)}")
    print(f"log:        {out / 'log.jsonl'}")
    try:
        from ..viz import plot_history
        print(f"plot:       {plot_history(out / 'log.jsonl', out / 'loss.png')}")
    except ImportError:
        print("plot:       skipped (pip install 'rnnlab[plot]' for matplotlib)")
    except ValueError:
        print("plot:       skipped (no losses logged yet)")
    if test is not None:
        loss = evaluate_loss(model, test)
        print(f"test:       {loss:.4f} nats/{vocab.level}, perplexity {math.exp(loss):.2f} "
              f"({test_file})")
    if sample_length:
        prime = vocab.encode("\n") if vocab.level == "char" else []
        ids = model.sample(sample_length, prime=prime, temperature=0.8, seed=0)
        print("sample (temperature 0.8):\n" + vocab.decode(ids))
    return 0
