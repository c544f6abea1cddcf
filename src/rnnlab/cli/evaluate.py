"""``rnnlab eval CHECKPOINT FILE``: loss, bits per token and perplexity on a text, over
every token of it."""
import math
import sys

from ..data import load_text
from ..train import evaluate_tokens
from ..train.progress import perplexity
from .loading import load_language_model
from .options import positive_int
from .settings import CLIError


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    parser.add_argument("file", help="UTF-8 text to evaluate on")
    parser.add_argument("--seq-length", type=positive_int("--seq-length"), default=100,
                        help="steps per call (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=32,
                        help="rows of the text read side by side (default: %(default)s)")
    parser.add_argument("--raw-text", action="store_true", help="read the text exactly as it "
                        "is (default: \\r\\n read as \\n, a leading byte-order mark dropped)")


def run(args):
    checkpoint = load_language_model(args.checkpoint, "read text")
    model, vocab = checkpoint.model, checkpoint.vocab
    text = load_text(args.file, args.raw_text)
    for notice in text.notices:
        print(f"notice: {notice}", file=sys.stderr)
    ids = vocab.encode(text.text)
    if len(ids) < 2:
        raise CLIError(f"{args.file}: {len(ids)} token(s); evaluating needs at least 2")
    loss, count = evaluate_tokens(model, ids, args.batch_size, args.seq_length)
    unknown = int((ids[1:] == vocab.index["<unk>"]).sum())
    unit = "char" if vocab.level == "char" else "word"
    print(f"{args.file}: {count:,} {unit}{'s' if count != 1 else ''} evaluated (every one after the first)"
          + (f", {unknown:,} of them outside the vocabulary, as <unk>" if unknown else ""))
    print(f"loss        {loss:.4f} nats/{unit}")
    print(f"bits/{unit:<5} {loss / math.log(2):.4f}")
    print(f"perplexity  {perplexity(loss):.3f}")
    return 0
