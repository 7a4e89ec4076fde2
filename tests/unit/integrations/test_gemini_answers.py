"""How the Gemini integration reads image answers that carry no usable image."""

from __future__ import annotations

import pytest
from google.genai import types

from assetry.errors import BadInput, ProviderError
from assetry.integrations.gemini import _image_from


def test_an_answer_in_words_only_quotes_the_words_and_asks_to_rephrase() -> None:
    parts = [types.Part(text="I can't draw real people.")]
    with pytest.raises(BadInput) as failure:
        _image_from(parts)
    assert str(failure.value) == (
        'Gemini answered without an image. It said: "I can\'t draw real people." '
        "Rephrase the prompt and try again."
    )


def test_image_bytes_that_are_not_an_image_are_a_provider_error() -> None:
    parts = [types.Part(inline_data=types.Blob(mime_type="image/png", data=b"not a png"))]
    with pytest.raises(ProviderError, match="Gemini sent an image we could not open"):
        _image_from(parts)
