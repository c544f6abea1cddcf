"""Data: corpora, vocabularies, splits and batches."""
from .batching import LanguageModelBatches, PaddedBatches
from .prepare import prepare
from .text import CorpusError, Text, load_text, read_text, split_ids
from .token_file import TokenFile, is_prepared
from .vocab import EOS, NULL, UNK, Vocab, tokenize_words

__all__ = ["EOS", "NULL", "UNK", "CorpusError", "LanguageModelBatches", "PaddedBatches", "Text", "TokenFile",
           "Vocab", "is_prepared", "load_text", "prepare", "read_text", "split_ids", "tokenize_words"]
