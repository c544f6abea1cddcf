"""Data: corpora, vocabularies, splits and batches."""
from .batching import LanguageModelBatches, PaddedBatches
from .text import CorpusError, Text, load_text, read_text, split_ids
from .vocab import EOS, NULL, UNK, Vocab, tokenize_words

__all__ = ["EOS", "NULL", "UNK", "CorpusError", "LanguageModelBatches", "PaddedBatches", "Text", "Vocab",
           "load_text", "read_text", "split_ids", "tokenize_words"]
