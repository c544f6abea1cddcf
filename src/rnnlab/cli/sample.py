"""``rnnlab sample CHECKPOINT``: stream generated text to stdout."""
import sys

from .loading import load_language_model, prime_ids
from .options import non_negative_float, non_negative_int, positive_int, probability


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    parser.add_argument("--length", type=non_negative_int("--length"), default=500,
                        help="tokens to generate (default: %(default)s)")
    parser.add_argument("--temperature", type=non_negative_float("--temperature"), default=0.8,
                        help="0: always the most probable token (default: %(default)s)")
    parser.add_argument("--top-k", type=positive_int("--top-k"))
    parser.add_argument("--top-p", type=probability("--top-p"))
    parser.add_argument("--prime", default=None, help="text to start from (default: a newline)")
    parser.add_argument("--seed", type=non_negative_int("--seed"), default=None)


def run(args):
    checkpoint = load_language_model(args.checkpoint, "write text")
    vocab = checkpoint.vocab
    prime = prime_ids(vocab, args.prime)
    out = sys.stdout
    if args.prime:
        out.write(args.prime + " " if vocab.level == "word" else args.prime)
    write = vocab.text_stream()
    for token in checkpoint.model.generate(args.length, prime, args.temperature, args.top_k,
                                           args.top_p, args.seed, exclude=vocab.special_ids()):
        out.write(write(token))
        out.flush()
    out.write("\n")
    return 0
