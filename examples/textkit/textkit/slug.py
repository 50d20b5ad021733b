import re
import unicodedata

_SEPARATORS = re.compile(r"[^a-z0-9]+")


def slugify(text, separator="-", max_length=None):
    """Lower-case ASCII slug of `text`, words joined by `separator`."""
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SEPARATORS.sub(separator, normalized.lower()).strip(separator)
    if max_length is not None and len(slug) > max_length:
        slug = slug[:max_length].rstrip(separator)
    return slug
