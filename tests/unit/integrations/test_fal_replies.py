"""Reading fal's replies: retry-after, error details, outputs."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from assetry.errors import BadInput, ProviderError
from assetry.integrations.fal import FalOutput, _detail, _parse_output, _retry_after


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert _retry_after(httpx.Headers({"retry-after": "12"})) == 12
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert _retry_after(httpx.Headers({"retry-after": in_a_minute})) == pytest.approx(60, abs=2)
    assert _retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert _retry_after(httpx.Headers()) is None


def test_error_details_read_as_a_sentence() -> None:
    fastapi_style = [
        {"loc": ["body", "prompt"], "msg": "String should have at most 2000 characters", "type": "too_long"},
        {"loc": ["body"], "msg": "Something else", "type": "x"},
    ]
    assert _detail(fastapi_style) == "prompt: String should have at most 2000 characters; Something else"
    assert _detail("Prompt too long") == "Prompt too long"
    # An HTML error page from a proxy is not shown to anyone.
    assert _detail("<html><body>502 Bad Gateway</body></html>") == ""


def test_outputs_of_image_and_video_models() -> None:
    images = {"images": [{"url": "https://cdn/a.png"}, {"url": "https://cdn/b.png"}], "seed": 7}
    assert _parse_output(images) == FalOutput(urls=["https://cdn/a.png", "https://cdn/b.png"], seed=7)
    assert _parse_output({"video": {"url": "https://cdn/v.mp4"}}) == FalOutput(urls=["https://cdn/v.mp4"])
    assert _parse_output({"image": {"url": "https://cdn/one.png"}}).urls == ["https://cdn/one.png"]


def test_flagged_images_are_left_out() -> None:
    output = {
        "images": [{"url": "https://cdn/a.png"}, {"url": "https://cdn/b.png"}],
        "has_nsfw_concepts": [True, False],
    }
    assert _parse_output(output).urls == ["https://cdn/b.png"]
    with pytest.raises(BadInput, match="safety checker"):
        _parse_output(output | {"has_nsfw_concepts": [True, True]})


@pytest.mark.parametrize("output", [[], {"text": "hi"}, {"images": [{"no_url": 1}]}, {"video": "x"}])
def test_outputs_without_files_are_provider_errors(output: object) -> None:
    with pytest.raises(ProviderError):
        _parse_output(output)
