"""Each imitation refuses a retired model and an option the catalog forbids, as the provider answers.

Through the providers' real SDKs (google-genai, anthropic, fal-client under our FalProvider), so a
catalog entry that allows more than the provider does, or a default past its shutdown date, fails here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta

import anthropic
import pytest
from google import genai
from google.genai import errors, types

from assetry.errors import BadInput, ProviderError
from assetry.integrations.anthropic import AnthropicProvider
from assetry.integrations.fal import FalProvider
from assetry.integrations.gemini import GeminiProvider
from assetry.integrations.generation import CaptionRequest, ImageRequest, VideoRequest
from assetry.sandbox import anthropic as anthropic_sandbox
from assetry.sandbox import gemini as gemini_sandbox
from assetry.sandbox.fal import DEFAULT_KEY, FalImitation
from assetry.services import catalog
from tests.asgi_server import serve
from tests.integration.servers import Served


@pytest.fixture(scope="module")
def gemini_url() -> Iterator[str]:
    with serve(gemini_sandbox.create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def anthropic_url() -> Iterator[str]:
    with serve(anthropic_sandbox.create_app()) as url:
        yield url


@pytest.fixture
def imitation(served: Served) -> FalImitation:
    served.imitation.reset()
    return served.imitation


def google(url: str) -> genai.Client:
    return genai.Client(
        api_key=gemini_sandbox.SANDBOX_KEY, http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )


# ----- Gemini -------------------------------------------------------------------------


async def test_gemini_answers_a_shut_down_model_with_not_found(gemini_url: str) -> None:
    client = google(gemini_url)
    with pytest.raises(errors.ClientError) as refused:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="a paper boat")
    assert (refused.value.code, refused.value.status) == (404, "NOT_FOUND")
    assert "models/gemini-2.5-flash is not found" in refused.value.message
    current = await client.aio.models.generate_content(model="gemini-3.5-flash-lite", contents="a paper boat")
    assert current.text
    async with GeminiProvider(api_key=gemini_sandbox.SANDBOX_KEY, base_url=gemini_url, max_retries=0) as ours:
        with pytest.raises(ProviderError, match=r"Gemini has no model 'gemini-2\.5-flash-image'"):
            await ours.images(ImageRequest(prompt="a paper boat", model="gemini-2.5-flash-image"))


async def test_gemini_refuses_an_aspect_ratio_and_a_modality_the_model_does_not_have(gemini_url: str) -> None:
    client = google(gemini_url)

    def picture(ratio: str) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"], image_config=types.ImageConfig(aspect_ratio=ratio)
        )

    with pytest.raises(errors.ClientError) as refused:
        await client.aio.models.generate_content(
            model="gemini-nano-banana-2.1", contents="a paper boat", config=picture("5:3")
        )
    assert (refused.value.code, refused.value.status) == (400, "INVALID_ARGUMENT")
    # 4:5 is one of Google's documented ratios: the studio does not offer it, but Google accepts it.
    portrait = await client.aio.models.generate_content(
        model="gemini-nano-banana-2.1", contents="a paper boat", config=picture("4:5")
    )
    image = next(part.as_image() for part in portrait.parts if part.inline_data)
    assert image is not None
    async with GeminiProvider(api_key=gemini_sandbox.SANDBOX_KEY, base_url=gemini_url, max_retries=0) as ours:
        with pytest.raises(BadInput, match=r"response modalities \(IMAGE\)"):
            await ours.images(ImageRequest(prompt="a paper boat", model="gemini-3.5-flash-lite"))


# ----- Anthropic ----------------------------------------------------------------------


async def test_anthropic_answers_a_retired_model_and_too_many_tokens_as_the_api_does(
    anthropic_url: str,
) -> None:
    client = anthropic.AsyncAnthropic(
        api_key=anthropic_sandbox.SANDBOX_KEY, base_url=anthropic_url, max_retries=0
    )
    with pytest.raises(anthropic.NotFoundError) as refused:
        await client.messages.create(
            model="claude-3-5-haiku-20241022", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.body["type"] == "error"
    assert refused.value.body["error"] == {
        "type": "not_found_error",
        "message": "model: claude-3-5-haiku-20241022",
    }
    current = await client.messages.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    assert current.content[0].text
    with pytest.raises(anthropic.BadRequestError) as too_long:
        await client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64_001,
            messages=[{"role": "user", "content": "hi"}],
            timeout=30,  # without one the SDK itself refuses so long a non-streaming answer
        )
    assert too_long.value.body["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens "
        "for claude-haiku-4-5",
    }
    async with AnthropicProvider(
        api_key=anthropic_sandbox.SANDBOX_KEY, base_url=anthropic_url, max_retries=0
    ) as ours:
        with pytest.raises(ProviderError, match="Anthropic has no model 'claude-opus-3'"):
            await ours.captions(CaptionRequest(prompt="a paper boat", model="claude-opus-3"))
    await client.close()


# ----- fal.ai ------------------------------------------------------------------------


def fal(served: Served) -> FalProvider:
    return FalProvider(key=DEFAULT_KEY, queue_url=served.url, verify=served.trust)


async def test_fal_refuses_options_veo3_fast_does_not_have(served: Served, imitation: FalImitation) -> None:
    async with fal(served) as provider:
        with pytest.raises(BadInput, match="Input should be '9:16' or '16:9'"):
            await provider.submit_video(
                VideoRequest(
                    prompt="a paper boat", model="fal-ai/veo3/fast", aspect_ratio="1:1", duration_s=8
                )
            )
        with pytest.raises(BadInput, match="Input should be '4s', '6s' or '8s'"):
            await provider.submit_video(
                VideoRequest(prompt="a paper boat", model="fal-ai/veo3/fast", duration_s=5)
            )
        assert await provider.submit_video(
            VideoRequest(prompt="a paper boat", model="fal-ai/veo3/fast", aspect_ratio="16:9", duration_s=4)
        )
    assert [app for app, _ in imitation.submissions] == ["fal-ai/veo3/fast"]


async def test_fal_answers_unknown_and_retired_apps_with_not_found(
    served: Served, imitation: FalImitation, monkeypatch: pytest.MonkeyPatch
) -> None:
    veo = catalog.known("fal", "fal-ai/veo3/fast")
    yesterday = date.today() - timedelta(days=1)
    retired = dataclasses.replace(veo, model="fal-ai/veo2", retires_on=yesterday)
    monkeypatch.setattr(catalog, "MODELS", (*catalog.MODELS, retired))
    async with fal(served) as provider:
        for model in ("fal-ai/veo2", "fal-ai/kling-video/v2.1/standard/text-to-video"):
            with pytest.raises(ProviderError):
                await provider.submit_video(VideoRequest(prompt="a paper boat", model=model, duration_s=8))
    assert imitation.submissions == []
    assert imitation.count("submit") == 2
