"""Recognising a caption's hook style from its first line (What works groups posts by it)."""

from __future__ import annotations

import pytest

from assetry.integrations import hooks


@pytest.mark.parametrize(
    ("caption", "style"),
    [
        ("POV: your first sourdough", "pov"),
        ("pov - morning run", "pov"),
        ("Ten minutes, one pan", "number"),
        ("12 hours in Tokyo", "number"),
        ("how to fold a shirt fast", "how-to"),
        ("Do not buy this before watching", "warning"),
        ("Is this the best taco in town?", "question"),
        ("Tacos. Then a question? No.", "statement"),  # the first sentence ends before the "?"
        ("  \n  Quietly proud of this one\nPOV: later", "statement"),  # only the first line counts
        ("Howdy from Texas", "statement"),
        ("", None),
    ],
)
def test_the_first_line_names_the_style(caption: str, style: str | None) -> None:
    assert hooks.recognise(caption) == style


def test_every_style_recognises_its_own_offline_templates() -> None:
    for style in hooks.STYLES:
        for template in style.templates:
            assert hooks.recognise(template.format(topic="latte art", Topic="Latte art")) == style.key
