"""``rnnlab train [TEXT_FILE | DIR]``: train a language model on a text file (or on
``--train``/``--valid`` splits, or on a corpus ``rnnlab prepare`` wrote to DIR, read
from its memory-mapped token files), or continue a run with ``--resume DIR``.

Everything a user gives is checked before the run directory is touched: options and
config values, the text files, one batch fitting in the corpus, the memory the model
needs. The directory is then locked for the run's life (a second trainer is refused);
checkpoints are written every ``--checkpoint-every`` updates, at least every
``--checkpoint-minutes``, at each new best validation loss, at the end, and on SIGINT or
SIGTERM (exit 130 / 143 after saving). A resumed run refuses any option that would
change the model, the data or the batches, and checks that its text is the same
(size and sha256).
"""
import contextlib
import json
import signal
import sys
from pathlib import Path

import numpy as np

from .. import corpus_path
from ..data import TokenFile, Vocab, load_text, split_ids
from ..data.batching import LanguageModelBatches
from ..files.atomic import write_atomically
from ..files.lock import RunLockError, check_not_held, lock_run_directory
from ..models import LanguageModel
from ..optim import Cosine, ExponentialDecay
from ..train import Solver, evaluate_loss
from ..train.checkpoint import checkpoint_names, read_checkpoint, read_json, resolve
from ..train.footprint import available_memory, estimated_parameters, training_bytes
from ..train.parallel import ParallelError
from ..train.progress import perplexity
from .options import non_negative_int
from .settings import (
    CHECKS,
    CHOICES,
    COMMON,
    PRESETS,
    RESUMABLE,
    SETTINGS,
    CLIError,
    renamed,
    settings_from,
)

FILE_ROLES = ("text_file", "train_file", "valid_file", "test_file")
FILE_OPTIONS = {"text_file": "TEXT_FILE", "train_file": "--train", "valid_file": "--valid",
                "test_file": "--test"}
VALID_TOKENS = 1 << 20  # validation during training reads at most this many tokens
LARGE_TEXT = 50_000_000  # bytes of a text file above which `rnnlab prepare` is suggested
RESUMABLE_OPTIONS = [f"--{name.replace('_', '-')}" for name in RESUMABLE] + ["--sample-length",
                                                                             "--no-progress"]


def add_arguments(parser):
    parser.add_argument("text_file", nargs="?", metavar="TEXT_FILE | DIR",
                        help="UTF-8 text (default: the bundled tinyshakespeare), or a corpus "
                        "prepared by `rnnlab prepare` (read with its splits, never loaded)")
    parser.add_argument("--train", metavar="FILE", help="training split (instead of TEXT_FILE's "
                        "90/5/5 split; the vocabulary is this file's), with --valid")
    parser.add_argument("--valid", metavar="FILE", help="validation split, with --train")
    parser.add_argument("--test", metavar="FILE", help="test split, evaluated at the end")
    parser.add_argument("--preset", choices=list(PRESETS),
                        help="default: 2 x LSTM 256, 8 epochs (under 10 minutes on 2 cores); "
                        "large: 2 x LSTM 512, dropout 0.3, 13 epochs (under an hour); "
                        "zaremba-small, zaremba-medium: Zaremba et al. 2014 on word-level Penn "
                        "Treebank; medium-tied: zaremba-medium with tied embeddings. Options "
                        "not given take the preset's value")
    parser.add_argument("--config", metavar="FILE.json", help="settings as JSON, keys as the options")
    parser.add_argument("--level", choices=CHOICES["level"], help="tokens: characters (char-rnn) "
                        "or whitespace-separated words with <eos> at line ends (bpe: from "
                        "`rnnlab prepare --level bpe`); a prepared corpus has its own")
    parser.add_argument("--cell", choices=CHOICES["cell"], help="the recurrent cell")
    parser.add_argument("--hidden-size", type=CHECKS["hidden_size"], help="units per layer")
    parser.add_argument("--num-layers", type=CHECKS["num_layers"])
    parser.add_argument("--embedding-dim", "--embedding-size", type=CHECKS["embedding_dim"],
                        help="the embedding's size")
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
    parser.add_argument("--loss-sum-over-time", "--sum-loss-over-time", action="store_const",
                        const=True,
                        help="gradient of the loss summed over the steps (Zaremba et al.)")
    parser.add_argument("--seq-length", type=CHECKS["seq_length"],
                        help="steps per batch row (truncated BPTT length)")
    parser.add_argument("--batch-size", type=CHECKS["batch_size"], help="rows per batch")
    parser.add_argument("--learning-rate", "--lr", type=CHECKS["learning_rate"])
    parser.add_argument("--learning-rate-decay", "--lr-decay", type=CHECKS["learning_rate_decay"],
                        help="per-epoch decay factor (default: cosine decay to 10%% over the run)")
    parser.add_argument("--decay-after", type=CHECKS["decay_after"],
                        help="epochs at the full rate before --learning-rate-decay starts (default: 1)")
    parser.add_argument("--grad-clip", type=CHECKS["grad_clip"], help="global norm")
    parser.add_argument("--num-epochs", "--epochs", type=CHECKS["num_epochs"])
    parser.add_argument("--max-time", type=CHECKS["max_time"], help="seconds")
    parser.add_argument("--eval-every", type=CHECKS["eval_every"],
                        help="validation loss (and a checkpoint when it is the best) every so many updates")
    parser.add_argument("--seed", type=CHECKS["seed"], help="initial weights, data "
                        "order, dropout: the run is deterministic")
    parser.add_argument("--raw-text", action="store_const", const=True, help="read the text "
                        "exactly as it is (default: \\r\\n line ends read as \\n and a leading "
                        "UTF-8 byte-order mark dropped, with a notice)")
    parser.add_argument("--checkpoint-every", type=CHECKS["checkpoint_every"], metavar="N",
                        help="also checkpoint every N updates")
    parser.add_argument("--checkpoint-minutes", type=CHECKS["checkpoint_minutes"], metavar="M",
                        help="checkpoint at least every M minutes of training (default: 10), "
                        "besides each new best, the end and SIGINT/SIGTERM")
    parser.add_argument("--keep-last", type=CHECKS["keep_last"], metavar="K",
                        help="checkpoints kept besides the best (default: 3)")
    parser.add_argument("--out", metavar="DIR", help="run directory (default: runs/<file name>)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR exactly; "
                        f"it may change only {', '.join(RESUMABLE_OPTIONS)} (TEXT_FILE, --train, "
                        "--valid, --test: the same text at a new path, checked by its sha256)")
    parser.add_argument("--sample-length", type=non_negative_int("--sample-length"), default=300,
                        help="characters (or words) to sample at the end (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="plain lines, no progress bar")


def run(args):
    if args.resume:
        return _resume(args)
    settings = settings_from(args)
    files = _files(args)
    texts = _read_texts(files, settings["raw_text"])
    training_text = texts.get("text_file") or texts["train_file"]
    vocab = _vocabulary(training_text, settings, args.level)
    data, test = _splits(texts, vocab, settings)
    model = _build_model(settings, len(vocab))
    ranks = _check_ranks(args.ranks, settings)
    out = Path(args.out) if args.out else Path("runs") / training_text.path.stem
    with _on_rank_0(ranks, lambda: _claim_new_run(out)):  # ours until the run returns
        N, M = settings["batch_size"], settings["seq_length"]
        per_epoch = len(data["train"]) // (N * M)
        size = f"{len(training_text.train):,} training tokens" if isinstance(
            training_text, TokenFile) else f"{len(training_text.text):,} characters"
        parallel = f"; {ranks.size} processes of {N // ranks.size} rows" if ranks.size > 1 else ""
        print(f"{training_text.path}: {size}, {len(vocab):,} "
              f"{settings['level']} types; {settings['num_layers']} x {settings['cell']} "
              f"{settings['hidden_size']}, {model.count_params():,} parameters; "
              f"{settings['num_epochs']} epochs of {per_epoch} updates{parallel}; run "
              f"directory {out}", flush=True)
        solver = Solver(model, data, batch_size=N, seq_length=M, num_epochs=settings["num_epochs"],
                        print_every=min(50, settings["eval_every"] or 50),
                        learning_rate=settings["learning_rate"],
                        optimizer=settings["optimizer"], schedule=_schedule(settings, per_epoch),
                        grad_clip=settings["grad_clip"], eval_every=settings["eval_every"],
                        max_time=settings["max_time"], checkpoint_dir=out, vocab=vocab,
                        eval_batches=_eval_batches(data["val"]),
                        seed=settings["seed"], loss_sum_over_time=settings["loss_sum_over_time"],
                        checkpoint_every=settings["checkpoint_every"],
                        checkpoint_minutes=settings["checkpoint_minutes"],
                        keep_last=settings["keep_last"], progress=False if args.no_progress else None,
                        communicator=ranks.communicator)
        if ranks.root:
            _write_settings(out, settings, texts)
        return _train(solver, out, args.sample_length, test, files.get("test_file"),
                      _characters_per_token(texts))


def _check_ranks(ranks, settings):
    """The ranks of a data-parallel run (``mpiexec -n K``): K must divide the batch."""
    try:
        ranks.rows(settings["batch_size"])
    except ParallelError:
        raise CLIError(f"--batch-size {settings['batch_size']}: {ranks.size} processes "
                       f"(mpiexec -n {ranks.size}) must divide the global batch; use a "
                       f"multiple of {ranks.size}") from None
    return ranks


def _on_rank_0(ranks, claim):
    """``claim()`` (the run directory's lock) on rank 0 alone -> its context manager
    (nothing elsewhere); a refusal there is every rank's, in one line."""
    lock, refusal = contextlib.nullcontext(), None
    if ranks.root:
        try:
            lock = claim()
        except CLIError as error:
            refusal = str(error)
    refusal = ranks.broadcast(refusal)
    if refusal:
        raise CLIError(refusal)
    return lock


def _vocabulary(training, settings, level_given):
    """The vocabulary of the training text (a prepared corpus: its own, and its level)."""
    if isinstance(training, TokenFile):
        if level_given and level_given != training.level:
            raise CLIError(f"--level {level_given}: {training.path} is a {training.level}-level "
                           f"corpus (the level is chosen when it is prepared)")
        settings["level"] = training.level
        return training.vocab
    if settings["level"] == "bpe":
        raise CLIError(f"--level bpe: prepare the corpus first, then train on it: rnnlab "
                       f"prepare {training.path} --level bpe --out DIR; rnnlab train DIR")
    make_vocab = Vocab.characters if settings["level"] == "char" else Vocab.words
    return make_vocab(training.text)


def _eval_batches(batches):
    """How many validation batches a run reads: all, up to VALID_TOKENS tokens."""
    if len(batches) * batches.tokens_per_batch <= VALID_TOKENS:
        return None
    count = max(1, VALID_TOKENS // batches.tokens_per_batch)
    print(f"notice: validation reads the first {count * batches.tokens_per_batch:,} of the "
          f"held-out split's {len(batches) * batches.tokens_per_batch:,} tokens", file=sys.stderr)
    return count


def _characters_per_token(texts):
    """For a subword corpus: the validation split's characters per token (None otherwise)."""
    corpus = texts.get("text_file")
    if isinstance(corpus, TokenFile) and corpus.level == "bpe" and len(corpus.valid):
        return corpus.characters("valid") / len(corpus.valid)
    return None


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


def _read_texts(files, raw_text):
    """role -> Text (a TokenFile for a prepared corpus) for each file of the run, its
    notices said on stderr."""
    texts = {role: _read_text(role, path, raw_text) for role, path in files.items()}
    for text in texts.values():
        for notice in text.notices:
            print(f"notice: {notice}", file=sys.stderr)
        if text.size > LARGE_TEXT and not isinstance(text, TokenFile):
            print(f"notice: {text.path} ({text.size / 1e6:,.0f} MB) is read into memory whole; "
                  f"`rnnlab prepare {text.path} --out DIR` then `rnnlab train DIR` reads a "
                  f"corpus of any size in bounded memory", file=sys.stderr)
        if not text.regular:
            print(f"notice: {text.path} is not a regular file (a pipe?): this run cannot be "
                  f"resumed, since its text cannot be read again; save the text to a file to "
                  f"make it resumable", file=sys.stderr)
    return texts


def _read_text(role, path, raw_text):
    if Path(path).is_dir():
        if role != "text_file":
            raise CLIError(f"{FILE_OPTIONS[role]} {path}: is a directory; a prepared corpus "
                           f"is given as TEXT_FILE, with its own splits")
        return TokenFile(path)
    return load_text(path, raw_text)


def _splits(texts, vocab, settings):
    """-> ({"train": ids, "val": batches}, test batches or None). A TEXT_FILE is split
    90/5/5 (its 5% test part stays unseen); only a test file is evaluated."""
    if isinstance(texts.get("text_file"), TokenFile):  # its own splits, memory-mapped
        source = texts["text_file"].path
        train, val = texts["text_file"].train, texts["text_file"].valid
    elif "text_file" in texts:
        source = texts["text_file"].path
        train, val, _ = split_ids(vocab.encode(texts["text_file"].text))
    else:
        source = texts["train_file"].path
        train, val = (vocab.encode(texts[role].text) for role in ("train_file", "valid_file"))
    N, M = settings["batch_size"], settings["seq_length"]
    if len(train) < N * M + 1:
        raise CLIError(f"{source}: {len(train):,} training tokens cannot fill one batch of "
                       f"--batch-size x --seq-length + 1 = {N * M + 1:,}; use a longer "
                       f"text or smaller batches")
    val_source = texts["valid_file"].path if "valid_file" in texts else source
    data = {"train": train, "val": _validation_batches(val, settings, val_source)}
    test = None
    if "test_file" in texts:
        test = _validation_batches(vocab.encode(texts["test_file"].text), settings,
                                   texts["test_file"].path, 1)
    return data, test


def _model_arguments(settings, vocab_size):
    return dict(vocab_size=vocab_size, embedding_dim=settings["embedding_dim"],
                hidden_size=settings["hidden_size"], num_layers=settings["num_layers"],
                cell=settings["cell"], dropout=settings["dropout"], stateful=True,
                seed=settings["seed"], tie_weights=settings["tie_weights"],
                init_scale=settings["init_scale"],
                embedding_dropout=settings["embedding_dropout"],
                recurrent_bias=settings["recurrent_bias"])


def _build_model(settings, vocab_size):
    """The model, after its training memory (estimated without building it) was found
    to fit in the memory the machine has."""
    arguments = _model_arguments(settings, vocab_size)
    E, H = settings["embedding_dim"], settings["hidden_size"]
    if settings["tie_weights"] and E != H:
        raise CLIError(f"--tie-weights: the embedding size ({E}) must equal the hidden size "
                       f"({H}); give --embedding-dim {H}")

    def build(e, h):  # the same model at other sizes
        return LanguageModel(**{**arguments, "embedding_dim": h if settings["tie_weights"] else e,
                                "hidden_size": h, "seed": 0})

    parameters = estimated_parameters(build, E, H)
    need = training_bytes(parameters, settings["batch_size"], settings["seq_length"], H,
                          settings["num_layers"], vocab_size, E)
    have = available_memory()
    if have is not None and need > have:
        raise CLIError(f"the model needs about {need / 2**30:,.1f} GiB of memory to train "
                       f"({parameters:,} parameters, batches of {settings['batch_size']} x "
                       f"{settings['seq_length']}); this machine has {have / 2**30:,.1f} GiB "
                       f"available: use a smaller --hidden-size, --num-layers, --embedding-dim "
                       f"or --batch-size")
    if need > 2**30:  # building and the first update take a while: say so first
        print(f"building the model: {parameters:,} parameters, about {need / 2**30:,.1f} GiB "
              f"of memory to train", flush=True)
    try:
        return LanguageModel(**arguments)
    except ValueError as error:
        raise CLIError(f"the model's settings do not fit together: {error}") from None


def _schedule(settings, per_epoch):
    if settings["learning_rate_decay"]:
        return ExponentialDecay(settings["learning_rate_decay"], settings["decay_after"])
    return Cosine(settings["num_epochs"] * per_epoch, 0.1)


def _claim_new_run(out):
    """Lock ``out`` (created if needed) for this run -> the RunLock; refuse a file, a directory that
    another process holds or that already holds a run, and one that is not writable.
    The refusals come before the lock, so a refused command changes nothing."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out}: is a file, expected a directory")
    _check_not_held(out, "--out")
    _refuse_a_run_in(out)
    lock = _lock(out, "--out")
    _refuse_a_run_in(out)  # again, holding the lock: another trainer may have just finished
    return lock


def _refuse_a_run_in(out):
    if out.is_dir() and (checkpoint_names(out) or (out / "latest.json").exists()):
        raise CLIError(f"--out {out}: already holds a training run; continue it with "
                       f"--resume {out} or choose another --out")


def _check_not_held(directory, option):
    try:
        check_not_held(directory)
    except RunLockError as error:
        raise CLIError(f"{option} {error}") from None


def _lock(directory, option):
    try:
        return lock_run_directory(directory)
    except RunLockError as error:
        raise CLIError(f"{option} {error}") from None
    except OSError as error:
        raise CLIError(f"{option} {directory}: not writable ({error.strerror})") from None


def _write_settings(out, settings, texts):
    """settings.json: the settings, the files as absolute paths and the identity (size,
    sha256) of each, which a resumed run checks."""
    record = {**settings, **{role: text.identity()["path"] for role, text in texts.items()},
              "corpus": {role: text.identity() for role, text in texts.items()}}
    write_atomically(out / "settings.json", json.dumps(record, indent=1).encode("utf-8"))


def _resume(args):
    for option, value in (("--preset", args.preset), ("--config", args.config), ("--out", args.out)):
        if value is not None:
            raise CLIError(f"{option}: a resumed run keeps the settings and the directory it "
                           f"started with; start a new run to change them")
    # the directory named first: a run that holds it may not have saved a checkpoint yet
    _on_rank_0(args.ranks, lambda: _check_not_held(Path(args.resume), "--resume"))
    run_dir = _run_directory(args.resume)
    _on_rank_0(args.ranks, lambda: _check_not_held(run_dir, "--resume"))
    checkpoint = _read_run_checkpoint(args.resume)
    settings_file = run_dir / "settings.json"
    if checkpoint.state is None or not settings_file.exists():
        raise CLIError(f"--resume {args.resume}: not a run directory of `rnnlab train` "
                       f"(no training state or settings.json)")
    settings = {**COMMON, **renamed(read_json(settings_file), settings_file)}
    _apply_resume_options(args, settings)
    files = _relocated_files(args, settings)
    _refuse_piped_text(files, settings.get("corpus") or {})
    texts = _read_texts(files, settings["raw_text"])
    _check_same_corpus(texts, settings.get("corpus"), settings_file)
    data, test = _splits(texts, checkpoint.vocab, settings)
    ranks = _check_ranks(args.ranks, settings)
    # every check above only read; the run is ours from here
    with _on_rank_0(ranks, lambda: _lock(run_dir, "--resume")):
        if resolve(args.resume) != checkpoint.path:  # another process saved since
            checkpoint = _read_run_checkpoint(args.resume)
        solver = Solver.resume(checkpoint, data, num_epochs=settings["num_epochs"],
                               max_time=settings["max_time"],
                               checkpoint_every=settings["checkpoint_every"],
                               checkpoint_minutes=settings["checkpoint_minutes"],
                               keep_last=settings["keep_last"], checkpoint_dir=str(run_dir),
                               progress=False if args.no_progress else None,
                               communicator=ranks.communicator)
        if ranks.root:
            _write_settings(run_dir, settings, texts)
        print(f"resuming {run_dir} at update {solver.iteration} (epoch {solver.epoch})", flush=True)
        return _train(solver, run_dir, args.sample_length, test, files.get("test_file"),
                      _characters_per_token(texts))


def _read_run_checkpoint(path):
    try:
        return read_checkpoint(path)
    except ValueError as error:
        raise CLIError(f"--resume {path}: {error}") from None


def _run_directory(path):
    """The run directory of ``--resume PATH``: PATH, or the one holding checkpoint PATH."""
    try:
        checkpoint = resolve(path)
    except ValueError as error:
        raise CLIError(f"--resume {path}: {error}") from None
    return checkpoint.parent


def _apply_resume_options(args, settings):
    """Take the options a resumed run may change; refuse, in one line, any other option
    given with a value other than the run's."""
    for name in SETTINGS:
        value = getattr(args, name)
        if value is None:
            continue
        if name in RESUMABLE:
            settings[name] = value
        elif value != settings.get(name):
            raise CLIError(f"--{name.replace('_', '-')} {value}: a resumed run keeps the "
                           f"settings it started with ({name} = {json.dumps(settings.get(name))}); "
                           f"it may change only {', '.join(RESUMABLE_OPTIONS)}; start a new run "
                           f"(another --out) to change it")


def _relocated_files(args, settings):
    """The run's files, where TEXT_FILE, --train, --valid or --test give a file's new
    place (its contents are checked to be the same)."""
    files = {role: settings[role] for role in FILE_ROLES if role in settings}
    if not (args.text_file or args.train or args.valid or args.test):
        return files
    for role, path in _files(args).items():
        if role not in files:
            raise CLIError(f"{FILE_OPTIONS[role]} {path}: the run was started without "
                           f"{FILE_OPTIONS[role]}; a resumed run reads the same files")
        files[role] = path
    return files


def _refuse_piped_text(files, recorded):
    """A text the run read from a pipe is gone: the same text given as a file resumes it."""
    for role, was in recorded.items():
        if not was.get("resumable", True) and files[role] == was["path"]:
            raise CLIError(f"--resume: the run read its {FILE_OPTIONS[role]} from {was['path']}, "
                           f"which cannot be read again (a pipe); give the same text as a file "
                           f"({FILE_OPTIONS[role]} FILE) to resume it")


def _check_same_corpus(texts, recorded, settings_file):
    if recorded is None:
        print(f"notice: {settings_file} records no checksum of the run's text (a run of an "
              f"older rnnlab); the text is not checked", file=sys.stderr)
        return
    for role, text in texts.items():
        was = recorded.get(role)
        if was is None:
            continue
        if (text.size, text.sha256) != (was["bytes"], was["sha256"]):
            raise CLIError(f"{text.path}: not the text this run was trained on ({text.size:,} "
                           f"bytes, sha256 {text.sha256[:12]}...; the run's "
                           f"{FILE_OPTIONS[role]} had {was['bytes']:,} bytes, sha256 "
                           f"{was['sha256'][:12]}...); give the original file's path, or start "
                           f"a new run")


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


def _train(solver, out, sample_length, test=None, test_file=None, characters_per_token=None):
    """Train with SIGINT (Ctrl-C) and SIGTERM finishing the update and saving a
    checkpoint (exit 130 / 143); then say where everything is, evaluate the test batches
    (when there are some) and sample. A subword model's best validation loss is also
    given per character (``characters_per_token`` of the validation split)."""
    received = []

    def stop(signum, frame):
        if solver.stop_requested:  # a second signal: quit now, the last checkpoint intact
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        solver.stop_requested = True
        received.append(signum)
        print(f"\n{signal.Signals(signum).name}: finishing this update and saving a checkpoint "
              f"(the same signal again quits without saving)", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is said in one line
            solver.train()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not solver.ranks.root:  # rank 0 reports, plots, tests and samples
        return 128 + received[0] if received else 0
    model, vocab = solver.model, solver.vocab
    best = f" (best validation loss {solver.best_val:.4f} at update {solver.best_iteration})" \
        if solver.best_val is not None else ""
    if best and characters_per_token:
        best = (f"{best[:-1]}; {solver.best_val / characters_per_token:.4f} nats per character, "
                f"{characters_per_token:.3f} characters per token)")
    print(f"stopped: {solver.stopped_because or 'all epochs done'} after {solver.iteration} updates, "
          f"{solver.wall_time:.0f} s{best}")
    print(f"checkpoint: {resolve(out)}")
    print(f"log:        {out / 'log.jsonl'}")
    if received:
        return 128 + received[0]
    try:
        from ..viz import plot_history
        print(f"plot:       {plot_history(out / 'log.jsonl', out / 'loss.png')}")
    except ImportError:
        print("plot:       skipped (pip install 'rnnlab[plot]' for matplotlib)")
    except ValueError:
        print("plot:       skipped (no losses logged yet)")
    if test is not None:
        loss = evaluate_loss(model, test)
        print(f"test:       {loss:.4f} nats/{vocab.level}, perplexity {perplexity(loss):.2f} "
              f"({test_file})")
    if sample_length:
        prime = vocab.encode("\n") if vocab.level != "word" else []
        ids = model.sample(sample_length, prime=prime, temperature=0.8, seed=0,
                           exclude=vocab.special_ids())
        print("sample (temperature 0.8):\n" + vocab.decode(ids))
    return 0
