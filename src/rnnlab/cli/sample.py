"""``rnnlab sample CHECKPOINT``: stream generated text to stdout."""
import sys

from ..train import read_checkpoint
from .options import non_negative_int, positive_float, positive_int, probability
from .train import CLIError


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    parser.add_argument("--length", type=non_negative_int("--length"), default=500,
                        help="tokens to generate (default: %(default)s)")
    parser.add_argument("--temperature", type=positive_float("--temperature"), default=0.8)
    parser.add_argument("--top-k", type=positive_int("--top-k"))
    parser.add_argument("--top-p", type=probability("--top-p"))
    parser.add_argument("--prime", default=None, help="text to start from (default: a newline)")
    parser.add_argument("--seed", type=non_negative_int("--seed"), default=None)


def prime_ids(vocab, prime):
    """The ids of the prime text. Characters the vocabulary lacks are a CLIError naming
    them; unknown words become <unk>, with a notice on stderr naming them."""
    if prime is None:
        prime = "\n" if vocab.level == "char" and "\n" in vocab.index else ""
    missing = sorted({t for t in vocab.tokenize(prime) if t not in vocab.index})
    if missing and vocab.level == "char":
        raise CLIError(f"--prime: characters not in the model's vocabulary: "
                       f"{', '.join(repr(t) for t in missing)}")
    if missing:
        print(f"notice: --prime words not in the model's vocabulary, read as <unk>: "
              f"{', '.join(repr(t) for t in missing)}", file=sys.stderr)
    return vocab.encode(prime)


def run(args):
    checkpoint = read_checkpoint(args.checkpoint)
    vocab = checkpoint.vocab
    if vocab is None:
        raise CLIError(f"{args.checkpoint}: the checkpoint has no vocabulary to write text with")
    prime = prime_ids(vocab, args.prime)
    out = sys.stdout
    if args.prime:
        out.write(args.prime if vocab.level == "char" else args.prime + " ")
    for token in checkpoint.model.generate(args.length, prime, args.temperature, args.top_k,
                                           args.top_p, args.seed):
        text = vocab.decode([token])
        out.write(text if vocab.level == "char" or text == "\n" else text + " ")
        out.flush()
    out.write("\n")
    return 0
