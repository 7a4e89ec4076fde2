"""Variations that change one named thing of a studio request."""

from __future__ import annotations

import pytest

from assetry.config import get_settings
from assetry.errors import BadInput
from assetry.services import studio, what_worked


def test_a_variation_changes_one_named_thing() -> None:
    settings = get_settings()
    video = studio.StudioRequest(kind="video", prompt="p", model_key="offline:preview-video", duration_s=5)
    longer, said = what_worked.vary(settings, video, "duration_s")
    assert (longer.duration_s, said) == (8, "Only the duration changed: 5 s → 8 s.")
    assert {k: v for k, v in vars(longer).items() if k != "duration_s"} == {
        k: v for k, v in vars(video).items() if k != "duration_s"
    }
    squarer, said = what_worked.vary(settings, video, "aspect_ratio")
    assert (squarer.aspect_ratio, squarer.duration_s, said) == (
        "1:1",
        5,
        "Only the aspect ratio changed: 9:16 → 1:1.",
    )
    caption = studio.StudioRequest(
        kind="caption", prompt="p", model_key="offline:preview-captions", tone="funny"
    )
    assert what_worked.vary(settings, caption, "tone")[0].tone == "informative"
    with pytest.raises(BadInput, match="Pick what to vary"):
        what_worked.vary(settings, caption, "duration_s")
    with pytest.raises(BadInput):
        what_worked.vary(settings, video, "seed")
