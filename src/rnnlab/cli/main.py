"""The ``rnnlab`` command line: ``rnnlab prepare | train | sample | eval | inspect | export``."""
import argparse
import os
import sys
import traceback

from ..data import CorpusError
from ..functional.backend import check_backend_variable
from ..train import CheckpointError, TrainingError
from ..train.parallel import ParallelError, Ranks, launched_communicator
from . import evaluate, export, inspect, prepare, sample, train
from .options import Parser

COMMANDS = {
    "prepare": (prepare, "tokenize a corpus of any size into token files for training",
                "examples:\n  rnnlab prepare enwik8.txt --out data/enwik8\n"
                "  rnnlab prepare wiki.train.txt --valid wiki.valid.txt --test wiki.test.txt "
                "--level word --max-vocab 50000 --out data/wiki\n"
                "  rnnlab prepare corpus.txt --level bpe --vocab-size 8000 --out data/bpe\n"
                "  rnnlab train data/enwik8"),
    "train": (train, "train a language model on a text file",
              "examples:\n  rnnlab train                       # the bundled tinyshakespeare\n"
              "  rnnlab train my.txt --hidden-size 512 --dropout 0.3 --out runs/my\n"
              "  rnnlab train --preset large\n  rnnlab train --resume runs/my --epochs 20\n"
              "  rnnlab train --preset zaremba-small --train ptb.train.txt --valid ptb.valid.txt "
              "--test ptb.test.txt"),
    "sample": (sample, "generate text from a checkpoint",
               "examples:\n  rnnlab sample runs/tinyshakespeare --prime 'ROMEO:' --length 1000\n"
               "  rnnlab sample runs/tinyshakespeare --temperature 0.5 --top-p 0.9 --seed 1"),
    "eval": (evaluate, "loss, bits per character and perplexity of a checkpoint on a text",
             "example:\n  rnnlab eval runs/tinyshakespeare other.txt"),
    "inspect": (inspect, "an HTML page of a model's cells on a text, and its gate statistics",
                "examples:\n  rnnlab inspect runs/tinyshakespeare --out page.html\n"
                "  rnnlab inspect runs/ptb --prime 'the company said' --gates-png gates.png"),
    "export": (export, "a checkpoint as an ONNX graph, a PyTorch state_dict or Keras weights",
               "examples:\n  rnnlab export runs/tinyshakespeare model.onnx\n"
               "  rnnlab sample model.onnx --prime 'ROMEO:'\n"
               "  rnnlab export runs/tinyshakespeare model.pt\n"
               "  rnnlab export runs/tinyshakespeare model.weights.h5"),
}


def build_parser():
    parser = Parser(prog="rnnlab", description="Recurrent neural networks on NumPy: train "
                    "a language model on a text file, sample from it, evaluate it, look inside it.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (module, summary, examples) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary, epilog=examples,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.ranks = Ranks(launched_communicator())
    except ParallelError as error:
        print(f"rnnlab {args.command}: error: {error}", file=sys.stderr)
        return 1
    if not args.ranks.root:  # rank 0 speaks for a data-parallel run
        _quiet()
    try:
        check_backend_variable()
        return args.run(args)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CorpusError, CheckpointError, TrainingError, ValueError, OSError) as error:
        message = str(error) if not isinstance(error, OSError) or not error.filename \
            else f"{error.filename}: {error.strerror}"
        print(f"rnnlab {args.command}: error: {message}", file=sys.stderr)
        if isinstance(error, OSError):  # a file of rank 0's: end the other ranks' wait
            args.ranks.abort(1)
        return 1
    except KeyboardInterrupt:
        print(f"rnnlab {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        if args.ranks.size == 1:
            raise
        traceback.print_exc(file=sys.__stderr__)  # a bug on one rank: stop them all
        args.ranks.abort(1)


def _quiet():
    """The output of a rank other than 0 goes nowhere (rank 0 prints for the run)."""
    devnull = open(os.devnull, "w")
    sys.stdout = devnull
    sys.stderr = devnull


if __name__ == "__main__":
    sys.exit(main())
