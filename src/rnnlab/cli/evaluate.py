"""``rnnlab eval CHECKPOINT FILE | DIR``: loss, bits per token and perplexity on a text,
or on a split of a prepared corpus (read from its memory-mapped token file), over every
token of it. A subword (bpe) model's loss is also given per character."""
import math
import sys
from pathlib import Path

from ..data import TokenFile, load_text
from ..train import evaluate_tokens
from ..train.progress import perplexity
from .loading import load_language_model
from .options import positive_int
from .settings import CLIError


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    parser.add_argument("file", metavar="FILE | DIR", help="UTF-8 text to evaluate on, or a "
                        "corpus prepared by `rnnlab prepare` (its --split)")
    parser.add_argument("--split", choices=("test", "valid", "train"), default="test",
                        help="with DIR: the split to evaluate (default: %(default)s)")
    parser.add_argument("--seq-length", type=positive_int("--seq-length"), default=100,
                        help="steps per call (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=32,
                        help="rows of the text read side by side (default: %(default)s)")
    parser.add_argument("--raw-text", action="store_true", help="read the text exactly as it "
                        "is (default: \\r\\n read as \\n, a leading byte-order mark dropped)")


def run(args):
    checkpoint = load_language_model(args.checkpoint, "read text")
    model, vocab = checkpoint.model, checkpoint.vocab
    ids, characters, source = _read(args, vocab)
    if len(ids) < 2:
        raise CLIError(f"{source}: {len(ids)} token(s); evaluating needs at least 2")
    loss, count = evaluate_tokens(model, ids, args.batch_size, args.seq_length)
    unknown = _count(ids[1:], vocab.index["<unk>"])
    unit = {"char": "char", "word": "word"}.get(vocab.level, "token")
    print(f"{source}: {count:,} {unit}{'s' if count != 1 else ''} evaluated (every one after the first)"
          + (f", {unknown:,} of them outside the vocabulary, as <unk>" if unknown else ""))
    print(f"loss        {loss:.4f} nats/{unit}")
    print(f"bits/{unit:<5} {loss / math.log(2):.4f}")
    print(f"perplexity  {perplexity(loss):.3f}")
    if vocab.level == "bpe" and characters:
        per_char = loss * len(ids) / characters  # the summed loss over the text's characters
        print(f"loss        {per_char:.4f} nats/char ({characters / len(ids):.3f} characters "
              f"per token), bits/char {per_char / math.log(2):.4f}")
    return 0


def _read(args, vocab):
    """-> (ids, the characters they spell (None when unknown), what to call them)."""
    if Path(args.file).is_dir():
        corpus = TokenFile(args.file)
        if corpus.vocab.tokens != vocab.tokens:
            raise CLIError(f"{args.file}: prepared with another vocabulary than the model's "
                           f"({len(corpus.vocab):,} {corpus.level} tokens, the model has "
                           f"{len(vocab):,} {vocab.level} tokens)")
        return corpus.splits[args.split], corpus.characters(args.split), \
            f"{args.file} ({args.split})"
    text = load_text(args.file, args.raw_text)
    for notice in text.notices:
        print(f"notice: {notice}", file=sys.stderr)
    return vocab.encode(text.text), len(text.text), args.file


def _count(ids, token, chunk=1 << 24):
    """Occurrences of ``token`` in ``ids`` (a memmap is read a chunk at a time)."""
    return sum(int((ids[k : k + chunk] == token).sum()) for k in range(0, len(ids), chunk))
