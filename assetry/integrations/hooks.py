"""Hook styles: how a caption's first line stops the scroll, asked of every caption writer and
recognised in the posts that come back, so What works can compare them.

Each style has what a text model is told, a few templates the offline writer fills in, and the
pattern (a Postgres regular expression, case-insensitive, over the first line) that recognises
it in a synced post's caption. `recognise` applies the same patterns in Python, in the same
order: the first that matches names the style; a first line that matches none is a statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANY = "any"


@dataclass(frozen=True)
class HookStyle:
    key: str
    label: str  # as What works names its group
    instruction: str  # the sentence a text model gets
    templates: tuple[str, ...]  # the offline writer's ({topic}, {Topic})
    pattern: str  # first line, case-insensitive; "" for the style that takes the rest


STYLES: tuple[HookStyle, ...] = (
    HookStyle(
        "pov", "POV (“POV: …”)", 'open with a point-of-view line starting "POV:"',
        ("POV: you finally tried {topic}", "POV: {topic} on a Monday", "POV: your first {topic}"),
        r"^\s*pov\M",
    ),
    HookStyle(
        "number", "A number (“3 things…”)", 'open with a number, as in "3 things nobody tells you about …"',
        ("3 things nobody tells you about {topic}", "5 seconds of {topic}", "1 trick for better {topic}"),
        r"^\s*(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\M",
    ),
    HookStyle(
        "how-to", "How-to (“How I…”)", 'open with "How I …" or "How to …"',
        ("How I do {topic}", "How to get {topic} right", "How we make {topic}"),
        r"^\s*how (i|to|we|you)\M",
    ),
    HookStyle(
        "warning", "A warning (“Don't…”, “Stop…”)", 'open with a warning such as "Don\'t skip this" or "Stop …"',
        ("Don't skip this: {topic}", "Stop scrolling: {topic}", "Never again without {topic}"),
        r"^\s*(don'?t|do not|stop|never|wait)\M",
    ),
    HookStyle(
        "question", "A question", "open with a question to the viewer",
        ("Ever tried {topic}?", "Would you try {topic}?", "Is this the best {topic}?"),
        r"^[^.!]*\?",
    ),
    HookStyle(
        "statement", "A statement", "open with a short, confident statement",
        ("{Topic}, done right.", "This is {topic}.", "{Topic} changed my week."),
        "",
    ),
)  # fmt: skip
BY_KEY = {style.key: style for style in STYLES}
CHOICES = (ANY, *BY_KEY)


def first_line(text: str) -> str:
    return (text or "").strip().split("\n", 1)[0]


def recognise(text: str) -> str | None:
    """The style of a caption's first line (None for an empty caption)."""
    line = first_line(text)
    if not line:
        return None
    for style in STYLES:
        # Postgres' \M (end of word) is Python's \b here.
        if style.pattern and re.search(style.pattern.replace(r"\M", r"\b"), line, re.IGNORECASE):
            return style.key
    return "statement"
