"""``rnnlab eval CHECKPOINT FILE``: loss, bits per token and perplexity on a text."""
import math

from ..data import read_text
from ..data.batching import LanguageModelBatches
from ..train import evaluate_loss, read_checkpoint
from .options import positive_int
from .train import CLIError


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    parser.add_argument("file", help="UTF-8 text to evaluate on")
    parser.add_argument("--seq-length", type=positive_int("--seq-length"), default=100)
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=32)


def run(args):
    checkpoint = read_checkpoint(args.checkpoint)
    model, vocab = checkpoint.model, checkpoint.vocab
    if vocab is None:
        raise CLIError(f"{args.checkpoint}: the checkpoint has no vocabulary to read text with")
    ids = vocab.encode(read_text(args.file))
    M = args.seq_length
    rows = min(args.batch_size, (len(ids) - 1) // M)
    if rows < 1:
        raise CLIError(f"{args.file}: {len(ids)} tokens, fewer than --seq-length {M} + 1")
    batches = LanguageModelBatches(ids, rows, M)
    loss = evaluate_loss(model, batches)
    unknown = int((ids == vocab.index["<unk>"]).sum())
    unit = "char" if vocab.level == "char" else "word"
    print(f"{args.file}: {len(batches) * rows * M:,} {unit}s evaluated"
          + (f" ({unknown:,} outside the vocabulary, as <unk>)" if unknown else ""))
    print(f"loss        {loss:.4f} nats/{unit}")
    print(f"bits/{unit:<5} {loss / math.log(2):.4f}")
    print(f"perplexity  {math.exp(loss):.3f}")
    return 0
