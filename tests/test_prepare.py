"""Prepared corpora: streamed preparation equals whole-file encoding, memory-mapped batches
equal in-memory ones, the peak memory does not grow with the corpus, bad corpora are one
line each, and the commands (prepare, train, eval, sample, inspect) run on them."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import SHAKESPEARE, SHARED, TINY, assert_one_line_error, rnnlab_cmd

from rnnlab.data import (
    CorpusError,
    LanguageModelBatches,
    TokenFile,
    Vocab,
    load_text,
    prepare,
    split_ids,
)
from rnnlab.data.levels import token_dtype
from rnnlab.models import LanguageModel
from rnnlab.train import Solver

CORPORA = [SHAKESPEARE, SHARED / "anna.txt", SHARED / "ptb" / "ptb.train.txt"]
MAKE_VOCAB = {"char": Vocab.characters, "word": Vocab.words}


def present(paths):
    return [pytest.param(p, id=p.name, marks=pytest.mark.skipif(not p.exists(), reason="no ../shared"))
            for p in paths]


def assert_splits_equal(corpus, expected):
    for name, ids in zip(("train", "valid", "test"), expected):
        got = corpus.splits[name]
        assert len(got) == len(ids) and np.array_equal(got, ids), name


@pytest.mark.parametrize("source", present(CORPORA))
@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("chunk_bytes", [7, 4096])
def test_streamed_preparation_equals_whole_file_encoding(tmp_path, source, level, chunk_bytes):
    """7-byte chunks split words and \\r\\n pairs (anna.txt's line ends; the shared
    corpora are ASCII: multi-byte characters are the next test's); they read the first
    400 kB (a block per line for words: slow), 4096-byte chunks the whole file."""
    if chunk_bytes < 4096:
        head = source.read_bytes()[:400_000].decode("utf-8", "ignore").encode("utf-8")
        source = tmp_path / source.name
        source.write_bytes(head)
    corpus = prepare([source], tmp_path / "c", level=level, chunk_bytes=chunk_bytes)
    text = load_text(source).text
    vocab = MAKE_VOCAB[level](text)
    assert corpus.vocab.tokens == vocab.tokens
    assert_splits_equal(corpus, split_ids(vocab.encode(text)))
    assert corpus.dtype == token_dtype(len(vocab))


@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5])
def test_every_chunk_boundary_inside_characters_lines_and_crlf(tmp_path, level, chunk_bytes):
    text = ("\ufeffé\r\nžluťoučký kůň\r\n\r\n  úpěl ďábelské ódy 🎵\n\x85next\u2028line\r"
            "\rend\vof\fpage\x1c \n words  and\tmore\r\n") * 3
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode("utf-8"))
    for raw in (False, True):
        corpus = prepare([path], tmp_path / f"c{raw}", level=level, chunk_bytes=chunk_bytes,
                         raw=raw, valid_fraction=0.2, test_fraction=0.1)
        read = load_text(path, raw).text
        vocab = MAKE_VOCAB[level](read)
        assert corpus.vocab.tokens == vocab.tokens
        assert_splits_equal(corpus, split_ids(vocab.encode(read), (0.7, 0.2, 0.1)))


def test_a_bad_byte_is_reported_with_its_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"hello world\n" * 100 + b"caf\xe9 \n")
    with pytest.raises(CorpusError) as whole:
        load_text(path)
    for chunk_bytes in (1, 7, 4096):
        with pytest.raises(CorpusError) as streamed:
            prepare([path], tmp_path / f"c{chunk_bytes}", chunk_bytes=chunk_bytes)
        assert str(streamed.value) == str(whole.value)
        assert "byte 0xe9 at offset 1203" in str(streamed.value)
        assert not (tmp_path / f"c{chunk_bytes}").exists()  # the directory it made is gone


def test_word_caps_and_held_out_files(tmp_path):
    text = load_text(SHAKESPEARE).text
    train, valid, test = (tmp_path / f"{n}.txt" for n in ("train", "valid", "test"))
    train.write_text(text[:800_000])
    valid.write_text(text[800_000:900_000])
    test.write_text(text[900_000:])
    corpus = prepare([train], tmp_path / "c", level="word", min_count=3, max_vocab=2000,
                     valid=valid, test=test)
    vocab = Vocab.words(text[:800_000], min_count=3, max_size=2000)
    assert corpus.vocab.tokens == vocab.tokens and len(vocab) == 2000
    assert_splits_equal(corpus, [vocab.encode(t) for t in
                                 (text[:800_000], text[800_000:900_000], text[900_000:])])
    assert corpus.meta["split_by"] == "files" and corpus.dtype == np.uint16


def test_several_sources_are_one_text(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("first file\nends without a line end")
    b.write_text("second file\n" * 50)
    for level in ("char", "word"):
        corpus = prepare([a, b], tmp_path / level, level=level, chunk_bytes=5)
        joined = a.read_text() + b.read_text() if level == "char" else \
            a.read_text() + "\n" + b.read_text()  # each file's last line ends at its end
        vocab = MAKE_VOCAB[level](joined)
        assert_splits_equal(corpus, split_ids(vocab.encode(joined)))


def test_memory_mapped_batches_equal_in_memory_batches(tmp_path):
    corpus = prepare([SHAKESPEARE], tmp_path / "c")
    assert isinstance(corpus.train, np.memmap) and corpus.train.dtype == np.uint8
    in_memory = np.array(corpus.train, dtype=np.int64)
    for ids in (corpus.train, corpus.train[: 32 * 100 * 7]):  # with and without a next token
        mapped, loaded = LanguageModelBatches(ids, 32, 100), LanguageModelBatches(
            in_memory[: len(ids)], 32, 100)
        assert len(mapped) == len(loaded)
        for (x, y), (x2, y2) in zip(mapped.batches(), loaded.batches()):
            assert x.dtype == np.int64 and np.array_equal(x, x2) and np.array_equal(y, y2)
    # today's layout, written out: row n holds tokens n M K .. (n + 1) M K, targets shifted
    batches = LanguageModelBatches(in_memory, 4, 5)
    L = 5 * len(batches)
    rows = in_memory[: 4 * L].reshape(4, L)
    first, second = list(batches.batches())[:2]
    assert np.array_equal(first[0], rows[:, :5]) and np.array_equal(second[0], rows[:, 5:10])
    assert np.array_equal(first[1], in_memory[1 : 4 * L + 1].reshape(4, L)[:, :5])


def test_the_solver_trains_on_a_token_file(tmp_path):
    corpus = prepare([SHAKESPEARE], tmp_path / "c")
    model = LanguageModel(len(corpus.vocab), embedding_dim=8, hidden_size=16, seed=0)
    solver = Solver(model, {"train": corpus.train, "val": corpus.valid}, batch_size=8,
                    seq_length=16, max_iterations=5, eval_batches=2, verbose=False)
    solver.train()
    reference = LanguageModel(len(corpus.vocab), embedding_dim=8, hidden_size=16, seed=0)
    in_memory = Solver(reference, {"train": np.array(corpus.train, np.int64)}, batch_size=8,
                       seq_length=16, max_iterations=5, verbose=False)
    in_memory.train()
    assert solver.losses == in_memory.losses
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, reference.params[name])


def test_an_interrupted_preparation_leaves_no_file_under_a_final_name(tmp_path):
    def interrupt(done, total, phase):  # Ctrl-C half way
        if done > total / 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare([SHAKESPEARE], tmp_path / "c", chunk_bytes=1 << 16, progress=interrupt)
    assert not (tmp_path / "c").exists()
    (tmp_path / "d").mkdir()  # a directory that was there stays, empty
    with pytest.raises(KeyboardInterrupt):
        prepare([SHAKESPEARE], tmp_path / "d", level="word", chunk_bytes=1 << 16,
                progress=interrupt)
    assert [p.name for p in (tmp_path / "d").iterdir()] == [".lock"]


def generated(path, megabytes):
    """A corpus of ``megabytes`` MB: tinyshakespeare's lines, each copy shuffled."""
    lines = np.array(load_text(SHAKESPEARE).text.splitlines(True), dtype=object)
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        while f.tell() < megabytes * 1_000_000:
            f.write("".join(lines[rng.permutation(len(lines))]))
    return path


def peak_megabytes(*args):
    process = subprocess.Popen([sys.executable, "-m", "rnnlab.cli.main", *map(str, args)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read()
    return usage.ru_maxrss / 1024


@pytest.mark.parametrize("level", ["char", "word"])
def test_peak_memory_of_preparing_does_not_grow_with_the_corpus(tmp_path, level):
    small, large = generated(tmp_path / "10.txt", 10), generated(tmp_path / "40.txt", 40)
    peaks = [peak_megabytes("prepare", path, "--out", tmp_path / f"{path.stem}-{level}",
                            "--level", level, "--no-progress") for path in (small, large)]
    # the whole 40 MB text would be 40 MB more as a string alone, 320 MB more as int64 ids
    assert peaks[1] < peaks[0] + 25, peaks


# -- the commands ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared") / "shakespeare"
    result = rnnlab_cmd("prepare", SHAKESPEARE, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "67 char types, uint8 tokens" in result.stdout and f"rnnlab train {out}" in result.stdout
    return out


def test_train_eval_sample_and_resume_on_a_prepared_corpus(tmp_path, prepared):
    run = tmp_path / "run"
    result = rnnlab_cmd("train", prepared, "--out", run, "--num-epochs", "1", "--max-time", "8",
                        "--sample-length", "20", *TINY)
    assert result.returncode == 0, result.stderr
    assert "1,003,855 training tokens, 67 char types" in result.stdout
    settings = json.loads((run / "settings.json").read_text())
    assert settings["corpus"]["text_file"]["sha256"] == TokenFile(prepared).sha256
    evaluated = rnnlab_cmd("eval", run, prepared, "--split", "valid")
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"{prepared} (valid): 55,769 chars evaluated" in evaluated.stdout
    on_text = rnnlab_cmd("eval", run, SHAKESPEARE)
    assert on_text.returncode == 0 and "1,115,393 chars evaluated" in on_text.stdout
    assert rnnlab_cmd("sample", run, "--length", "30", "--prime", "ROMEO:").returncode == 0
    resumed = rnnlab_cmd("train", "--resume", run, "--max-time", "3", "--sample-length", "0",
                         "--no-progress")
    assert resumed.returncode == 0 and "resuming" in resumed.stdout, resumed.stderr
    assert_one_line_error(rnnlab_cmd("train", prepared, "--level", "word", "--out", tmp_path / "x"),
                          "--level word:", "is a char-level corpus")


def test_word_and_bpe_models_train_sample_evaluate_and_are_inspected(tmp_path):
    pytest.importorskip("tokenizers")
    for level, extra in (("word", ["--max-vocab", "3000"]), ("bpe", ["--vocab-size", "600"])):
        corpus, run = tmp_path / f"{level}-corpus", tmp_path / f"{level}-run"
        made = rnnlab_cmd("prepare", SHAKESPEARE, "--out", corpus, "--level", level, *extra)
        assert made.returncode == 0, made.stderr
        trained = rnnlab_cmd("train", corpus, "--out", run, "--max-time", "6",
                             "--sample-length", "30", *TINY)
        assert trained.returncode == 0, trained.stderr
        if level == "bpe":
            assert "nats per character" in trained.stdout and (corpus / "tokenizer.json").exists()
        sampled = rnnlab_cmd("sample", run, "--length", "40", "--prime", "ROMEO:", "--seed", "1")
        assert sampled.returncode == 0 and sampled.stdout.startswith("ROMEO:"), sampled.stderr
        evaluated = rnnlab_cmd("eval", run, corpus)
        assert evaluated.returncode == 0, evaluated.stderr
        assert ("nats/char" in evaluated.stdout) == (level == "bpe")
        page = tmp_path / f"{level}.html"
        inspected = rnnlab_cmd("inspect", run, "--prime", "To be, or not to be", "--out", page)
        assert inspected.returncode == 0 and page.exists(), inspected.stderr


def test_bpe_vocabulary_round_trips_and_decodes_as_it_streams(tmp_path):
    pytest.importorskip("tokenizers")
    text = "Žluťoučký kůň úpěl 🎵 ódy.\nROMEO: and yet\n" * 40
    path = tmp_path / "t.txt"
    path.write_text(text)
    corpus = prepare([path], tmp_path / "c", level="bpe", vocab_size=300, valid_fraction=0.1,
                     test_fraction=0.1)
    vocab = corpus.vocab
    ids = np.concatenate([corpus.train, corpus.valid, corpus.test])
    assert vocab.decode(ids) == text and np.array_equal(vocab.encode(text), ids)
    assert sum(corpus.characters(s) for s in ("train", "valid", "test")) == len(text)
    write = vocab.text_stream()  # token by token, a character split over tokens waits
    assert "".join(write(int(k)) for k in ids) == text
    again = Vocab.from_json(json.loads(json.dumps(vocab.to_json())))
    assert again.tokens == vocab.tokens and np.array_equal(again.encode(text), ids)
    assert vocab.special_ids() == [0, 1]


@pytest.mark.parametrize("damage, message", [
    ("no meta", "is a directory without meta.json, not a prepared corpus"),
    ("version", "version 99; this rnnlab reads 'rnnlab-tokens' version 1"),
    ("odd size", "bytes where meta.json says"),
    ("short", "bytes where meta.json says"),
    ("vocab", "not this corpus's vocabulary"),
    ("ids", "is outside the vocabulary of 67"),
])
def test_a_damaged_corpus_is_one_line_and_nothing_is_written(tmp_path, prepared, damage, message):
    corpus = tmp_path / "c"
    subprocess.run(["cp", "-r", str(prepared), str(corpus)], check=True)
    meta = json.loads((corpus / "meta.json").read_text())
    if damage == "no meta":
        (corpus / "meta.json").unlink()
    elif damage == "version":
        (corpus / "meta.json").write_text(json.dumps({**meta, "version": 99}))
    elif damage == "odd size":  # uint16 tokens of an odd number of bytes
        (corpus / "meta.json").write_text(json.dumps({**meta, "dtype": "uint16"}))
    elif damage == "short":
        with open(corpus / "valid.bin", "r+b") as f:
            f.truncate(1000)
    elif damage == "vocab":
        vocab = json.loads((corpus / "vocab.json").read_text())
        (corpus / "vocab.json").write_text(json.dumps({**vocab, "tokens": vocab["tokens"][:-1]}))
    else:
        with open(corpus / "test.bin", "r+b") as f:
            f.seek(500)
            f.write(bytes([200]))
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    run = tmp_path / "run"
    assert_one_line_error(rnnlab_cmd("train", corpus, "--out", run, *TINY), message)
    assert not run.exists()
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    assert_one_line_error(rnnlab_cmd("prepare", SHAKESPEARE, "--out", prepared),
                          "already holds a prepared corpus")


@pytest.mark.parametrize("args, message", [
    (["--valid-fraction", "0.6", "--test-fraction", "0.5"], "leaves no training text"),
    (["--test", "x.txt"], "--test: give --valid too"),
    (["--valid", "x.txt", "--valid-fraction", "0.1"], "give held-out files or fractions, not both"),
    (["--max-vocab", "100"], "word-level options (this is --level char)"),
    (["--level", "word", "--max-vocab", "3"], "--max-vocab 3: expected at least 4"),
    (["--level", "bpe", "--vocab-size", "100"], "--vocab-size 100: expected at least 258"),
    (["--valid-fraction", "nan"], "--valid-fraction: expected a finite number"),
])
def test_bad_prepare_options_are_one_line(tmp_path, args, message):
    out = tmp_path / "c"
    assert_one_line_error(rnnlab_cmd("prepare", SHAKESPEARE, "--out", out, *args), message)
    assert not out.exists()


def test_prepare_refuses_what_is_not_a_text_file(tmp_path):
    assert_one_line_error(rnnlab_cmd("prepare", tmp_path / "missing.txt", "--out", tmp_path / "c"),
                          "missing.txt: no such file")
    (tmp_path / "utf16.txt").write_bytes("hello".encode("utf-16"))
    assert_one_line_error(rnnlab_cmd("prepare", tmp_path / "utf16.txt", "--out", tmp_path / "d"),
                          "UTF-16 or UTF-32")
