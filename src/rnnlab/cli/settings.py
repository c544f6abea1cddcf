"""The settings of ``rnnlab train``: presets, the value checks shared by options and
config files, and the one error class of the command line.

Settings come from, in rising priority: the preset (``--preset``), a JSON config file
(``--config``, keys as the options with underscores), and the options given.
"""
import argparse
import json
import sys

from ..models.stack import CELLS
from .options import fraction, non_negative_int, positive_float, positive_int, probability

COMMON = dict(optimizer="adam", decay_after=1, init_scale=None, tie_weights=False,
              embedding_dropout=0.0, loss_sum_over_time=False, recurrent_bias=False,
              raw_text=False, checkpoint_every=None, checkpoint_minutes=10.0, keep_last=3)
# two biases per LSTM layer (recurrent_bias), as the paper's Torch code and PyTorch's nn.LSTM
ZAREMBA = dict(COMMON, level="word", cell="lstm", num_layers=2, optimizer="sgd",
               learning_rate=1.0, grad_clip=5.0, batch_size=20, loss_sum_over_time=True, eval_every=None, seed=0,
               max_time=None, recurrent_bias=True)
PRESETS = {
    # 2 x 256 LSTM: at most 10 minutes on 2 cores, validation loss at most 1.45 nats/char
    "default": dict(COMMON, level="char", cell="lstm", hidden_size=256, num_layers=2,
                    embedding_dim=64, dropout=0.0, seq_length=100, batch_size=32,
                    learning_rate=2e-3, learning_rate_decay=None, grad_clip=5.0, num_epochs=8,
                    max_time=None, eval_every=250, seed=0),
    # 2 x 512 LSTM with dropout: at most 60 minutes on 2 cores, at most 1.38 nats/char
    "large": dict(COMMON, level="char", cell="lstm", hidden_size=512, num_layers=2,
                  embedding_dim=64, dropout=0.3, seq_length=100, batch_size=32,
                  learning_rate=2e-3, learning_rate_decay=None, grad_clip=5.0, num_epochs=13,
                  max_time=None, eval_every=500, seed=0),
    # Zaremba et al. 2014, Penn Treebank: SGD on the loss summed over time, U(-s, s) weights
    "zaremba-small": dict(ZAREMBA, hidden_size=200, embedding_dim=200, dropout=0.0,
                          embedding_dropout=0.0, seq_length=20, learning_rate_decay=0.5,
                          decay_after=4, num_epochs=13, init_scale=0.1),
    "zaremba-medium": dict(ZAREMBA, hidden_size=650, embedding_dim=650, dropout=0.5,
                           embedding_dropout=0.5, seq_length=35, learning_rate_decay=0.8,
                           decay_after=6, num_epochs=39, init_scale=0.05),
    # beyond the paper: input and output embeddings tied (Press & Wolf 2017)
    "medium-tied": dict(ZAREMBA, hidden_size=650, embedding_dim=650, dropout=0.5,
                        embedding_dropout=0.5, seq_length=35, learning_rate_decay=0.8,
                        decay_after=6, num_epochs=39, init_scale=0.05, tie_weights=True),
}
SETTINGS = tuple(PRESETS["default"])
CHECKS = {  # the value checks of the numeric settings, for options and config files alike
    "hidden_size": positive_int("--hidden-size"), "num_layers": positive_int("--num-layers"),
    "embedding_dim": positive_int("--embedding-dim"), "dropout": fraction("--dropout"),
    "embedding_dropout": fraction("--embedding-dropout"),
    "seq_length": positive_int("--seq-length"), "batch_size": positive_int("--batch-size"),
    "learning_rate": positive_float("--learning-rate"),
    "learning_rate_decay": probability("--learning-rate-decay"),
    "decay_after": positive_int("--decay-after"), "init_scale": positive_float("--init-scale"),
    "grad_clip": positive_float("--grad-clip"), "num_epochs": positive_int("--num-epochs"),
    "max_time": positive_float("--max-time"), "eval_every": positive_int("--eval-every"),
    "seed": non_negative_int("--seed"), "checkpoint_every": positive_int("--checkpoint-every"),
    "checkpoint_minutes": positive_float("--checkpoint-minutes"),
    "keep_last": positive_int("--keep-last"),
}
CHOICES = {"level": ("char", "word", "bpe"), "cell": tuple(sorted(CELLS)), "optimizer": ("adam", "sgd"),
           "tie_weights": (False, True), "loss_sum_over_time": (False, True),
           "recurrent_bias": (False, True), "raw_text": (False, True)}
# settings renamed to the one name the Solver and the models use; the old names of
# config files and of older runs' settings.json are still read, with a notice
RENAMED = {"lr": "learning_rate", "lr_decay": "learning_rate_decay", "epochs": "num_epochs",
           "embedding_size": "embedding_dim", "sum_loss_over_time": "loss_sum_over_time"}
# what a resumed run may change; every other setting stays as the run started
RESUMABLE = ("num_epochs", "max_time", "checkpoint_every", "checkpoint_minutes", "keep_last")


class CLIError(ValueError):
    """A user's mistake on the command line, said in one line."""


def renamed(settings, source):
    """``settings`` with each old name (RENAMED) read as its new one, a notice on stderr
    naming each; the new name wins where a file has both."""
    old = [name for name in settings if name in RENAMED]
    for name in old:
        print(f"notice: {source}: setting {name!r} is now {RENAMED[name]!r} (read as such)",
              file=sys.stderr)
    return {**{RENAMED[name]: settings[name] for name in old},
            **{name: value for name, value in settings.items() if name not in RENAMED}}


def settings_from(args):
    settings = dict(PRESETS[args.preset or "default"])
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
    config = renamed(config, f"--config {path}")
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


