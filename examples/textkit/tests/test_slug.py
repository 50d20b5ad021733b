from textkit import slugify


def test_spaces():
    assert slugify("Hello World") == "hello-world"


def test_accents():
    assert slugify("Crème brûlée") == "creme-brulee"


def test_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_max_length():
    assert slugify("one two three", max_length=7) == "one-two"
