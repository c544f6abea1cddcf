"""``rnnlab prepare TEXT_FILE... --out DIR``: tokenize a corpus of any size once, in
bounded memory, into memory-mapped token files that ``rnnlab train DIR`` reads without
loading (see ``data.prepare``)."""
import sys
import time

from ..data import prepare
from ..train.progress import format_seconds
from .options import fraction, positive_int
from .settings import CLIError

REPORT_SECONDS = 10  # plain-line progress: one line at most this often


def add_arguments(parser):
    parser.add_argument("text_files", nargs="+", metavar="TEXT_FILE",
                        help="UTF-8 text, read as one text in the order given")
    parser.add_argument("--out", required=True, metavar="DIR", help="the prepared corpus's "
                        "directory (created; refused if it already holds one)")
    parser.add_argument("--level", choices=("char", "word", "bpe"), default="char",
                        help="tokens: characters, whitespace-separated words with <eos> at line "
                        "ends, or a byte-level BPE (pip install 'rnnlab[bpe]') (default: char)")
    parser.add_argument("--min-count", type=positive_int("--min-count"), default=1,
                        help="word: words seen fewer times are <unk> (default: 1)")
    parser.add_argument("--max-vocab", type=positive_int("--max-vocab"),
                        help="word: at most this many tokens, the specials included; the "
                        "rarer words are <unk>")
    parser.add_argument("--vocab-size", type=positive_int("--vocab-size"), default=8000,
                        help="bpe: tokens to learn, the specials included (default: 8000)")
    parser.add_argument("--valid-fraction", type=fraction("--valid-fraction"),
                        help="the validation split: this last-but-one part of the text "
                        "(default: 0.05)")
    parser.add_argument("--test-fraction", type=fraction("--test-fraction"),
                        help="the test split: this last part of the text (default: 0.05)")
    parser.add_argument("--valid", metavar="FILE", help="the validation split from its own "
                        "file (instead of the fractions)")
    parser.add_argument("--test", metavar="FILE", help="the test split from its own file, "
                        "with --valid")
    parser.add_argument("--raw-text", action="store_true", help="read the text exactly as it "
                        "is (default: \\r\\n read as \\n, a leading byte-order mark dropped)")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")


def run(args):
    fractions = (args.valid_fraction, args.test_fraction)
    if args.valid or args.test:
        if any(f is not None for f in fractions):
            raise CLIError("--valid/--test and --valid-fraction/--test-fraction: give held-out "
                           "files or fractions, not both")
        if not args.valid:
            raise CLIError("--test: give --valid too (held-out files replace the fractions)")
    valid_fraction, test_fraction = (0.05 if f is None else f for f in fractions)
    if valid_fraction + test_fraction >= 1:
        raise CLIError(f"--valid-fraction + --test-fraction: {valid_fraction + test_fraction} "
                       f"leaves no training text; expected less than 1")
    if args.level != "word" and (args.min_count != 1 or args.max_vocab is not None):
        raise CLIError(f"--min-count, --max-vocab: word-level options (this is --level "
                       f"{args.level})")
    if args.max_vocab is not None and args.max_vocab < 4:
        raise CLIError(f"--max-vocab {args.max_vocab}: expected at least 4 (<null>, <unk>, "
                       f"<eos> and a word)")
    if args.level == "bpe" and args.vocab_size < 258:
        raise CLIError(f"--vocab-size {args.vocab_size}: expected at least 258 (the 256 bytes "
                       f"and two specials)")
    reporter = None if args.no_progress else Reporter()
    start = time.perf_counter()
    corpus = prepare(args.text_files, args.out, level=args.level, min_count=args.min_count,
                     max_vocab=args.max_vocab, vocab_size=args.vocab_size,
                     valid_fraction=valid_fraction, test_fraction=test_fraction,
                     valid=args.valid, test=args.test, raw=args.raw_text, progress=reporter,
                     on_notice=lambda notice: print(f"notice: {notice}", file=sys.stderr))
    if reporter:
        reporter.close()
    seconds = time.perf_counter() - start
    read = sum(s["bytes"] for group in corpus.meta["sources"].values() for s in group)
    counts = ", ".join(f"{name} {len(ids):,}" for name, ids in corpus.splits.items())
    print(f"{args.out}: {len(corpus.vocab):,} {args.level} types, {corpus.dtype.name} tokens "
          f"({counts}); {read / 1e6:,.1f} MB in {seconds:.1f} s ({read / 1e6 / seconds:,.1f} MB/s)")
    print(f"train on it with: rnnlab train {args.out}")
    return 0


class Reporter:
    """Progress of the bytes read: a line redrawn in place on a terminal, else a plain
    line at most every REPORT_SECONDS."""

    def __init__(self, stream=sys.stderr):
        self.stream, self.tty = stream, stream.isatty()
        self.start = self.last = time.perf_counter()
        self.drawn, self.done = False, 0

    def __call__(self, done, total, phase):
        now = time.perf_counter()
        if done == self.done:  # the end of a file: nothing new
            return
        self.done = done
        if now - self.last < (0.2 if self.tty else REPORT_SECONDS) and done < total:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        eta = (total - done) / rate if rate else 0
        line = (f"{phase}: {100 * done / max(total, 1):5.1f}%  {done / 1e6:,.0f}/{total / 1e6:,.0f} "
                f"MB  {rate / 1e6:,.1f} MB/s  ETA {format_seconds(eta)}")
        if self.tty:
            self.stream.write("\r" + line.ljust(78))
            self.drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
