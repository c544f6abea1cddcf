"""``rnnlab inspect CHECKPOINT``: a self-contained HTML page of what the model computes
on a text (activations by cell, next-token predictions, pattern search) and the gate
saturation plot."""
import io
import sys
from pathlib import Path

from .. import corpus_path
from ..data import read_text
from ..files.atomic import write_atomically
from ..viz.activations import plot_saturation, saturation, trace
from ..viz.page import page_data, render_page
from .loading import load_language_model, prime_ids
from .options import positive_int
from .settings import CLIError


def add_arguments(parser):
    parser.add_argument("checkpoint", help="a checkpoint or run directory (its latest checkpoint)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--text", metavar="FILE", help="the text to look at (default: the "
                        "bundled tinyshakespeare)")
    source.add_argument("--prime", metavar="TEXT", help="the text to look at, given here")
    parser.add_argument("--length", type=positive_int("--length"), default=2000,
                        help="characters of --text to use (default: %(default)s)")
    parser.add_argument("--out", metavar="PAGE.html", default="inspect.html",
                        help="the page to write (default: %(default)s)")
    parser.add_argument("--gates-png", metavar="FILE.png",
                        help="also write the gate saturation plot here")


def run(args):
    for option, path in (("--out", args.out), ("--gates-png", args.gates_png)):
        if path is not None and Path(path).is_dir():
            raise CLIError(f"{option} {path}: is a directory, expected a file name")
    checkpoint = load_language_model(args.checkpoint, "read text")
    model, vocab = checkpoint.model, checkpoint.vocab
    if not hasattr(model, "stepper"):
        raise CLIError(f"{args.checkpoint}: holds a {model.name}; inspect reads language models")
    if args.prime is not None:
        ids = prime_ids(vocab, args.prime)
    else:
        ids = prime_ids(vocab, read_text(args.text or corpus_path())[: args.length],
                        "--text" if args.text else "the bundled corpus")
    if len(ids) < 2:
        raise CLIError("the text is shorter than two tokens; give a longer --text or --prime")
    result = trace(model, ids)
    rows = saturation(result)
    png = None
    try:
        buffer = io.BytesIO()
        plot_saturation(rows, buffer, title=f"gate saturation: {Path(args.checkpoint).name}")
        png = buffer.getvalue()
    except ImportError:
        print("gate plot: skipped (pip install 'rnnlab[plot]' for matplotlib)", file=sys.stderr)
    except ValueError as error:  # no gated layer
        print(f"gate plot: skipped ({error})", file=sys.stderr)
    decode = vocab.token_text
    page = render_page(page_data(result, decode, f"rnnlab inspect: {Path(args.checkpoint).name}", png))
    out = Path(args.out)
    write_atomically(out, page.encode("utf-8"))
    print(f"page:       {out} ({len(ids):,} tokens, {len(result.layers)} recurrent layers)")
    if args.gates_png and png is None:
        print(f"gate plot:  not written to {args.gates_png} (see above)", file=sys.stderr)
    elif args.gates_png:
        write_atomically(Path(args.gates_png), png)
        print(f"gate plot:  {args.gates_png}")
    return 0
