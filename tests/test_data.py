"""Data: corpora, vocabularies, splits, the connected batcher, padded batches, safetensors."""
import numpy as np
import pytest
import safetensors.numpy

import rnnlab
from rnnlab.data import (
    CorpusError,
    LanguageModelBatches,
    PaddedBatches,
    Vocab,
    read_text,
    split_ids,
)
from rnnlab.files import SafetensorsError, load_safetensors, safetensors_bytes, save_safetensors


def test_language_model_batches_are_full_and_connected_on_the_example():
    vocab = Vocab.characters("abcdefgh")
    batches = LanguageModelBatches(vocab.encode("abcdefgh"), 2, 2)
    got = [(vocab.decode(x.ravel()), vocab.decode(y.ravel())) for x, y in batches.batches()]
    assert got == [("abef", "bcfg"), ("cdgh", "deha")]  # [[a,b],[e,f]] then [[c,d],[g,h]]


def test_language_model_batches_on_a_real_corpus():
    text = rnnlab.corpus_path().read_text(encoding="utf-8")
    vocab = Vocab.characters(text)
    ids = vocab.encode(text)
    N, M = 16, 50
    batches = LanguageModelBatches(ids, N, M)
    xs = [x for x, _ in batches.batches()]
    assert len(xs) == len(ids) // (N * M) and all(x.shape == (N, M) for x in xs)
    used = np.concatenate([np.concatenate([x[n] for x in xs]) for n in range(N)])
    np.testing.assert_array_equal(used, ids[: len(used)])  # every token once, in order
    assert len(ids) - len(used) < N * M  # only the surplus is dropped
    for (x0, y0), (x1, _) in zip(batches.batches(), list(batches.batches())[1:]):
        np.testing.assert_array_equal(y0[:, :-1], x0[:, 1:])  # targets: the next tokens
        np.testing.assert_array_equal(y0[:, -1], x1[:, 0])  # rows continue in the next batch


def test_padded_batches_use_every_example_once_and_replay_an_epoch():
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, 9, size=rng.integers(1, 12))) for _ in range(53)]
    labels = np.arange(53)
    batches = PaddedBatches((seqs, labels), 8, seed=4)
    assert len(batches) == 7
    seen = []
    for x, y in batches.batches(epoch=2):
        for row, label in zip(x, y):
            length = len(seqs[label])
            assert list(row[:length]) == seqs[label] and not row[length:].any()
        seen += list(y)
    assert sorted(seen) == list(range(53))
    first = [y.tolist() for _, y in batches.batches(epoch=2)]
    assert [y.tolist() for _, y in batches.batches(epoch=2, start=3)] == first[3:]
    assert first != [y.tolist() for _, y in batches.batches(epoch=3)]


def test_word_vocabulary_min_count_max_size_and_json(tmp_path):
    text = "the cat sat\nthe dog sat\nthe end\n"
    vocab = Vocab.words(text, min_count=2)
    assert vocab.tokens == ["<null>", "<unk>", "<eos>", "the", "sat"]
    assert Vocab.words(text, max_size=4).tokens == ["<null>", "<unk>", "<eos>", "the"]
    ids = vocab.encode("the cat sat\n")
    assert vocab.decode(ids) == "the <unk> sat\n"
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded.tokens == vocab.tokens and loaded.level == "word"
    chars = Vocab.characters("hello")
    assert chars.tokens == ["<null>", "<unk>", "e", "h", "l", "o"]
    assert chars.decode(chars.encode("hex")) == "he<unk>"


def test_split_is_contiguous_and_char_rnn_sized():
    train, val, test = split_ids(np.arange(1000))
    assert (len(train), len(val), len(test)) == (900, 50, 50)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), np.arange(1000))
    with pytest.raises(ValueError, match=r"fractions: expected three non-negative numbers summing to 1"):
        split_ids(np.arange(10), (0.5, 0.6, 0.1))


@pytest.mark.parametrize("content,message", [
    (None, r"nope.txt: no such file"),
    (b"", r"is empty, expected some text"),
    ("caf\xe9 cr\xe8me".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at offset 3\); convert it"),
])
def test_corpus_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / "nope.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_text(path)
    with pytest.raises(CorpusError, match="is a directory"):
        read_text(tmp_path)


def test_batches_that_cannot_fill_one_batch_are_named():
    with pytest.raises(ValueError, match=r"data: 10 tokens cannot fill one batch of batch_size x seq_length = 4 x 8"):
        LanguageModelBatches(np.arange(10), 4, 8)


def test_safetensors_interoperates_with_the_reference_library(tmp_path):
    tensors = {"a/W": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.array([1, -2], np.int64),
               "empty": np.zeros((0, 2), np.float64)}
    save_safetensors(tmp_path / "ours.safetensors", tensors, {"k": "v"})
    theirs = safetensors.numpy.load_file(tmp_path / "ours.safetensors")
    for name in tensors:
        np.testing.assert_array_equal(theirs[name], tensors[name])
    safetensors.numpy.save_file(tensors, tmp_path / "theirs.safetensors", metadata={"x": "y"})
    ours, metadata = load_safetensors(tmp_path / "theirs.safetensors")
    assert metadata == {"x": "y"}
    for name in tensors:
        np.testing.assert_array_equal(ours[name], tensors[name])
        assert ours[name].dtype == tensors[name].dtype


@pytest.mark.parametrize("corrupt,message", [
    (lambda b: b[:5], r"truncated \(shorter than the 8-byte header size\)"),
    (lambda b: b[:-3], r"truncated \(tensor 'x' ends at byte 24 of 21\)"),
    (lambda b: b[:8] + b"?" + b[9:], r"header is not valid JSON"),
    (lambda b: b + b"\0" * 8, r"8 bytes after the last tensor"),
])
def test_corrupt_safetensors_give_one_clear_error(tmp_path, corrupt, message):
    path = tmp_path / "x.safetensors"
    path.write_bytes(corrupt(safetensors_bytes({"x": np.zeros(6, np.float32)})))
    with pytest.raises(SafetensorsError, match=message):
        load_safetensors(path)
