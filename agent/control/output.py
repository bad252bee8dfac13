"""How the ``vppnet`` command prints: aligned tables, with colour only for a person.

Colour (ANSI escapes) is used only when the output is a terminal and the
``NO_COLOR`` convention (no-color.org: set and not empty) does not forbid it,
so piped output, logs and scripts always get plain text. Colour never carries
meaning alone: a cell reads the same without it ("yes"/"NO", "drift").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Final, TextIO

RESET: Final = "\x1b[0m"
STYLES: Final = {
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
    "red": "\x1b[31m",
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "cyan": "\x1b[36m",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only for a terminal, and not when NO_COLOR is set to something."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def paint(text: str, style: str, colour: bool) -> str:
    """``text`` in ``style`` (a key of STYLES) when colouring, else unchanged."""
    if not colour or not text:
        return text
    return f"{STYLES[style]}{text}{RESET}"


def visible_width(text: str) -> int:
    """Width on screen: escapes take no room."""
    return len(_ANSI.sub("", text))


def table(header: Sequence[str], rows: Sequence[Sequence[str]], colour: bool = False) -> str:
    """Columns aligned on the widest cell (escapes ignored); ``(none)`` without rows.

    Cells may already be painted; the header is bold when colouring. Trailing
    spaces are stripped so the plain output diffs cleanly.
    """
    if not rows:
        return "(none)"
    cells = [list(header), *[list(r) for r in rows]]
    if any(len(r) != len(header) for r in cells):
        raise ValueError("table: every row needs one cell per column")
    widths = [max(visible_width(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        parts = []
        for cell, width in zip(row, widths, strict=True):
            text = paint(cell, "bold", colour) if n == 0 else cell
            parts.append(text + " " * (width - visible_width(cell)))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def heading(text: str, colour: bool = False) -> str:
    return paint(f"== {text} ==", "cyan", colour)


def yes_no(value: bool | None, colour: bool = False) -> str:
    """A state cell: ``yes`` green, ``NO`` red, ``?`` (not known now) yellow."""
    if value is None:
        return paint("?", "yellow", colour)
    return paint("yes", "green", colour) if value else paint("NO", "red", colour)
