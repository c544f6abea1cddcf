"""The word level's vectorised first pass (``data.word_keys``) gives the ids of the
``str`` path (``levels.word_ids`` with ``_NewWords``) on real corpora and on the edges of
its keys: words of 8, 9, 16 and 17 bytes, multi-byte characters, every ASCII line break,
blocks it does not serve, and two new words that share a key."""
import numpy as np
import pytest
from cli_helpers import SHARED

from rnnlab.data import word_keys
from rnnlab.data.levels import LINE_END, _FirstSeenIds, _NewWords, word_ids
from rnnlab.data.word_keys import KnownWords

CORPORA = ("tinyshakespeare.txt", "anna.txt", "ptb/ptb.train.txt")


def known_from(text):
    ids_of = _FirstSeenIds({LINE_END: 0})
    word_ids(text, ids_of.__getitem__)
    return dict(ids_of)


def by_strings(known, block):
    ids_of = _NewWords(known)
    ids = word_ids(block, ids_of.__getitem__)
    return ids_of.new, ids


def assert_same(known, block):
    new_words, ids = KnownWords(known, LINE_END).ids(block)
    expected_new, expected_ids = by_strings(known, block)
    assert new_words == expected_new
    np.testing.assert_array_equal(ids, expected_ids)


@pytest.mark.parametrize("name", CORPORA)
def test_equals_the_str_path_on_real_corpora(name):
    path = SHARED / name
    if not path.exists():
        pytest.skip("the shared corpora are not here")
    text = path.read_text(encoding="utf-8")
    first, rest = text[: len(text) // 8], text[len(text) // 8 :]
    known = known_from(first)
    assert_same(known, rest)  # known words, and new ones in the order first seen
    assert_same(known, first)  # every word known


EDGES = [
    "12345678 123456789 1234567890123456 12345678901234567\n",  # 8, 9, 16, 17 bytes
    "a-word-of-more-than-sixteen-bytes a-word-of-more-than-sixteen-bytes known-long-word-xyz\n",
    "héllo wörld ünïcödé ĉĝĥĵŝŭ-ĉĝĥĵŝŭ 日本語の文章です\n",  # multi-byte, some over 16 bytes
    "\n\n  lead\r\nthen\rcr\vvt\fff\x1cfs\x1dgs\x1ers\x1fus\tend\n\n",  # \x1f splits, ends no line
    "no final line break",
    "\n",
    "",
    "known new known new\n" * 3,
]


@pytest.mark.parametrize("block", EDGES)
def test_equals_the_str_path_at_the_edges_of_its_keys(block):
    assert_same(known_from("known 12345678 known-long-word-xyz héllo\n"), block)


def test_blocks_with_whitespace_outside_ascii_are_left_to_the_str_path():
    known = KnownWords(known_from("a b\n"), LINE_END)
    for space in ("\xa0", "\u2028", "\x85", "\u3000"):
        assert known.ids(f"a{space}b\n") is None


def test_new_words_sharing_a_key_are_left_to_the_str_path(monkeypatch):
    monkeypatch.setattr(word_keys, "mix", lambda lo, hi: lo * np.uint64(0))  # every key the same
    known = KnownWords(known_from("one two three\n"), LINE_END)
    found = known.ids("three one two\n")  # known words are still found, probing every slot
    np.testing.assert_array_equal(found[1], by_strings(known.known, "three one two\n")[1])
    assert known.ids("one four five\n") is None  # two new words in one group: not one word
    assert known.ids("one four\n") is not None  # one new word
