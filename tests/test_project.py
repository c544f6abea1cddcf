"""The project as a user meets it: README commands, the bundled corpus, the example."""
import subprocess
import sys
from pathlib import Path

import pytest

import rnnlab

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command in (ROOT / "README.md").read_text()


def test_bundled_corpus_is_tinyshakespeare():
    text = rnnlab.corpus_path().read_text(encoding="utf-8")
    assert len(text) == 1_115_394
    assert text.startswith("First Citizen:")


def test_example_trains_and_samples_on_the_bundled_corpus():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "char_lstm.py"), "--seconds", "2", "--hidden", "32"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "validation loss" in result.stdout and "sample:" in result.stdout


def test_example_rejects_a_missing_file_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "char_lstm.py"), str(tmp_path / "nope.txt")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "nope.txt" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("example,expected", [
    ("one_to_one.py", "two spirals: test accuracy"),
    ("one_to_many.py", "waveforms: test mse"),
    ("many_to_one.py", "T = 50: test mse"),
    ("bidirectional_tagger.py", "forward-only LSTM"),
    ("qa_seq2seq.py", "held-out paraphrases answered exactly"),
])
def test_each_example_runs_and_reports(example, expected):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / example), "--seconds", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
