import pytest

from textkit import wrap_words


def test_wraps_at_width():
    assert wrap_words("a bb ccc dddd", 6) == ["a bb", "ccc", "dddd"]


def test_empty():
    assert wrap_words("", 10) == []


def test_bad_width():
    with pytest.raises(ValueError):
        wrap_words("x", 0)
