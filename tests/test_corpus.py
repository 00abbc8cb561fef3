"""The real-text corpus: deterministic, prose only, and refuses impossible requests."""

import pytest

from norm_viz.core import corpus


def test_sentences_are_many_distinct_prose_lines():
    s = corpus.sentences()
    assert len(s) > 1000
    assert len(set(s)) == len(s)
    assert all(x[0].isupper() and x.endswith(".") and "\n" not in x for x in s)


def test_sample_is_seeded_and_bounded():
    assert corpus.sample(5, seed=3) == corpus.sample(5, seed=3)
    assert corpus.sample(5, seed=3) != corpus.sample(5, seed=4)
    with pytest.raises(ValueError, match="between 1 and"):
        corpus.sample(0)
    with pytest.raises(ValueError, match="between 1 and"):
        corpus.sample(len(corpus.sentences()) + 1)


def test_text_is_the_sentences_one_per_line():
    assert corpus.text().splitlines() == list(corpus.sentences())


def test_the_sentences_are_read_in_a_child_process(monkeypatch):
    # sentences() parses the standard library in a child process (a server's other threads keep the GIL meanwhile):
    # with this process's reader broken it still answers, exactly what this process reads
    expected = corpus._read_stdlib()

    def not_here() -> tuple[str, ...]:
        raise AssertionError("parsed in the server's process")

    monkeypatch.setattr(corpus, "_read_stdlib", not_here)
    assert corpus.sentences.__wrapped__() == expected
