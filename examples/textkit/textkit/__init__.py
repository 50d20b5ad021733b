"""Small text helpers: the example repository for `code2lora adapt`."""
from .slug import slugify
from .wrap import wrap_words

__all__ = ["slugify", "wrap_words"]
