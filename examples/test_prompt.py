import unittest


def slugify(text):
    return "-".join(text.lower().split())


class TestSlugify(unittest.TestCase):
    def test_spaces(self):
        self.assertEqual(slugify("Hello World"), "hello-world")

    def test_empty(self):
        self.assertEqual(slugify(""), 