def wrap_words(text, width):
    """Greedy word wrap: lines of at most `width` characters (a longer word gets its own line)."""
    if width <= 0:
        raise ValueError("width must be positive")
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            if current:
                lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines
