"""The Gemini integration driving the real google-genai SDK against the local imitation over HTTP."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.gemini import GeminiProvider
from assetry.integrations.generation import CaptionRequest, ImageRequest
from assetry.sandbox.gemini import SANDBOX_KEY, create_app
from assetry.sandbox.llm import Faults
from tests.asgi_server import free_port, serve

TEXT_MODEL = "gemini-3.5-flash-lite"
IMAGE_MODEL = "gemini-nano-banana-2.1"
IDEA = "My 5am gym routine"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Starlette, str]]:
    app = create_app()
    with serve(app) as base_url:
        yield app, base_url


@pytest.fixture
def imitation(server: tuple[Starlette, str]) -> Starlette:
    """The running imitation with no faults and an empty request log."""
    app, _ = server
    app.state.faults.clear()
    app.state.requests.entries.clear()
    return app


@pytest.fixture
def faults(imitation: Starlette) -> Faults:
    return imitation.state.faults


def make_provider(base_url: str, **options) -> GeminiProvider:
    settings = {"api_key": SANDBOX_KEY, "max_retries": 0, "retry_delay_s": 0.01, "timeout_s": 5} | options
    return GeminiProvider(base_url=base_url, **settings)


@pytest.fixture
async def gemini(server: tuple[Starlette, str], imitation: Starlette) -> AsyncIterator[GeminiProvider]:
    async with make_provider(server[1]) as provider:
        yield provider


def captions(**changes) -> CaptionRequest:
    return CaptionRequest(**({"prompt": IDEA, "model": TEXT_MODEL} | changes))


def sent(imitation: Starlette) -> list:
    return imitation.state.requests.entries


# ----- captions -----------------------------------------------------------------------------


async def test_captions_follow_the_brief_and_the_request_carries_tone_and_examples(
    gemini: GeminiProvider, imitation: Starlette
) -> None:
    best = ["5am club, day 100. Coffee first, excuses never ☕", "Nobody claps at 5am. Do it anyway."]
    result = await gemini.captions(captions(tone="bold", length="short", count=3, examples=best))

    assert len(result) == 3
    assert len(set(result)) == 3
    assert all(IDEA in caption and "#gym" in caption for caption in result)

    [request] = sent(imitation)
    assert request.path == f"/v1beta/models/{TEXT_MODEL}:generateContent"
    assert request.headers["x-goog-api-key"] == SANDBOX_KEY
    system = request.body["systemInstruction"]["parts"][0]["text"]
    user = request.body["contents"][0]["parts"][0]["text"]
    assert "Tone: bold." in system
    assert "exactly 3 captions" in system
    assert "End each caption with 3 to 5 relevant hashtags." in system
    assert user.startswith(IDEA)
    assert f"<example>\n{best[0]}\n</example>" in user
    assert f"<example>\n{best[1]}\n</example>" in user
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["captions"]["type"] == "array"


async def test_hashtags_the_creator_turned_off_never_come_back(gemini: GeminiProvider) -> None:
    result = await gemini.captions(captions(hashtags=False, count=2))
    assert len(result) == 2
    assert not any("#" in caption for caption in result)


async def test_hooks_are_short_and_asked_for_as_hooks(gemini: GeminiProvider, imitation: Starlette) -> None:
    result = await gemini.captions(captions(kind="hook", count=2))
    assert len(result) == 2
    assert all(len(hook) <= 150 and "#" not in hook for hook in result)
    assert "first three seconds" in sent(imitation)[0].body["systemInstruction"]["parts"][0]["text"]


@pytest.mark.parametrize("style", ["numbered", "fenced", "chatty"])
async def test_any_reply_shape_gives_the_same_captions(
    gemini: GeminiProvider, faults: Faults, style: str
) -> None:
    expected = await gemini.captions(captions())
    faults.reply_style = style
    assert await gemini.captions(captions()) == expected


async def test_a_reply_one_short_is_topped_up_with_a_new_caption(
    gemini: GeminiProvider, imitation: Starlette, faults: Faults
) -> None:
    faults.reply_style = "short"
    result = await gemini.captions(captions(count=3))

    assert len(result) == 3
    assert len(set(result)) == 3
    first, second = sent(imitation)
    assert "exactly 3 captions" in first.body["systemInstruction"]["parts"][0]["text"]
    assert "exactly 1 caption." in second.body["systemInstruction"]["parts"][0]["text"]
    assert f"- {result[0]}\n- {result[1]}" in second.body["contents"][0]["parts"][0]["text"]


async def test_a_caption_request_the_creator_must_fix_is_never_sent(
    gemini: GeminiProvider, imitation: Starlette
) -> None:
    with pytest.raises(BadInput, match="Describe the video first"):
        await gemini.captions(captions(prompt="  "))
    assert sent(imitation) == []


async def test_the_v1_path_of_newer_sdk_defaults_is_served_too(
    server: tuple[Starlette, str], imitation
) -> None:
    async with make_provider(server[1], api_version="v1") as provider:
        assert len(await provider.captions(captions(count=1))) == 1
    assert sent(imitation)[0].path == f"/v1/models/{TEXT_MODEL}:generateContent"


# ----- images -------------------------------------------------------------------------------


async def test_images_are_real_pngs_of_the_asked_shape(gemini: GeminiProvider, imitation: Starlette) -> None:
    files = await gemini.images(
        ImageRequest(prompt="A sunrise over a gym", model=IMAGE_MODEL, aspect_ratio="9:16", count=2, seed=7)
    )

    assert len(files) == 2
    for file in files:
        assert file.content_type == "image/png"
        assert (file.width, file.height) == (768, 1344)
        with Image.open(io.BytesIO(file.content)) as image:
            assert image.format == "PNG"
            assert image.size == (768, 1344)
    assert files[0].content != files[1].content  # different seeds, different pictures

    bodies = [request.body for request in sent(imitation)]
    assert sorted(body["generationConfig"]["seed"] for body in bodies) == [7, 8]
    for body in bodies:
        assert "IMAGE" in body["generationConfig"]["responseModalities"]
        assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "9:16"}
        assert body["contents"][0]["parts"][0]["text"] == "A sunrise over a gym"


async def test_an_image_refused_for_safety_tells_the_creator_to_rephrase(
    gemini: GeminiProvider, faults: Faults
) -> None:
    faults.refuse = True
    with pytest.raises(BadInput) as failure:
        await gemini.images(ImageRequest(prompt="Something grim", model=IMAGE_MODEL))
    assert str(failure.value) == (
        "Gemini declined this prompt for safety reasons (IMAGE_SAFETY). Rephrase it and try again."
    )


async def test_asking_a_text_only_model_for_images_says_what_gemini_said(gemini: GeminiProvider) -> None:
    with pytest.raises(BadInput) as failure:
        await gemini.images(ImageRequest(prompt="A cat", model=TEXT_MODEL))
    assert str(failure.value) == (
        "Gemini could not use this request: The requested combination of response modalities (IMAGE) "
        "is not supported by the model."
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": ""}, "Describe the image first."),
        ({"count": 5}, "Ask for between 1 and 4 images at a time."),
        ({"aspect_ratio": "4:5"}, "Choose one of these shapes: 9:16, 1:1, 16:9."),
    ],
)
async def test_an_image_request_the_creator_must_fix_is_never_sent(
    gemini: GeminiProvider, imitation: Starlette, changes: dict, message: str
) -> None:
    with pytest.raises(BadInput) as failure:
        await gemini.images(ImageRequest(**({"prompt": "A cat", "model": IMAGE_MODEL} | changes)))
    assert str(failure.value) == message
    assert sent(imitation) == []


# ----- faults -------------------------------------------------------------------------------


async def test_rate_limit_reports_when_to_try_again(gemini: GeminiProvider, faults: Faults) -> None:
    faults.status, faults.retry_after = 429, 7
    with pytest.raises(RateLimited) as failure:
        await gemini.captions(captions())
    assert failure.value.retry_after == 7
    assert str(failure.value) == "Gemini is rate-limiting us. Try again in 7 seconds."


async def test_rate_limit_without_a_delay_says_a_minute(gemini: GeminiProvider, faults: Faults) -> None:
    faults.status = 429
    with pytest.raises(RateLimited) as failure:
        await gemini.captions(captions())
    assert failure.value.retry_after is None
    assert str(failure.value) == "Gemini is rate-limiting us. Try again in a minute."


@pytest.mark.parametrize(("status", "name"), [(500, "INTERNAL"), (503, "UNAVAILABLE")])
async def test_server_errors_are_provider_errors(
    gemini: GeminiProvider, faults: Faults, status, name
) -> None:
    faults.status = status
    with pytest.raises(ProviderError) as failure:
        await gemini.captions(captions())
    assert str(failure.value) == f"Gemini is having trouble ({status} {name}). Try again in a few minutes."


async def test_the_sdk_retries_passing_failures_itself(server, imitation: Starlette, faults: Faults) -> None:
    faults.status, faults.times = 503, 2
    async with make_provider(server[1], max_retries=2) as provider:
        assert len(await provider.captions(captions(count=2))) == 2
    assert len(sent(imitation)) == 3


async def test_retries_run_out_and_the_last_error_is_reported(server, imitation: Starlette, faults) -> None:
    faults.status, faults.retry_after = 429, 3
    async with make_provider(server[1], max_retries=1) as provider:
        with pytest.raises(RateLimited, match="Try again in 3 seconds"):
            await provider.captions(captions())
    assert len(sent(imitation)) == 2


@pytest.fixture(params=["httpx2", "httpx"])
def sdk_http_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each HTTP library google-genai can use."""
    monkeypatch.setenv("GOOGLE_GENAI_HTTP_CLIENT", request.param)
    return request.param


@pytest.mark.usefixtures("sdk_http_client")
async def test_a_slow_reply_times_out(server, imitation: Starlette, faults: Faults) -> None:
    faults.delay_s = 2
    async with make_provider(server[1], timeout_s=0.5) as provider:
        with pytest.raises(ProviderError) as failure:
            await provider.captions(captions())
    assert str(failure.value) == "Gemini did not answer within 0.5 seconds. Try again."


async def test_a_malformed_body_is_a_provider_error(gemini: GeminiProvider, faults: Faults) -> None:
    faults.malformed = True
    with pytest.raises(ProviderError) as failure:
        await gemini.captions(captions())
    assert str(failure.value) == "Gemini sent a reply we could not read. Try again."


async def test_a_safety_stop_tells_the_creator_to_rephrase(gemini: GeminiProvider, faults: Faults) -> None:
    faults.refuse = True
    with pytest.raises(BadInput) as failure:
        await gemini.captions(captions())
    assert (
        str(failure.value)
        == "Gemini declined this prompt for safety reasons (SAFETY). Rephrase it and try again."
    )


async def test_a_blocked_prompt_with_no_candidates_tells_the_creator_to_rephrase(
    gemini: GeminiProvider, faults: Faults
) -> None:
    faults.empty = True
    with pytest.raises(BadInput) as failure:
        await gemini.captions(captions())
    assert str(failure.value) == "Gemini blocked this prompt (PROHIBITED_CONTENT). Rephrase it and try again."


async def test_a_refused_key_is_an_expired_credential(server, imitation: Starlette) -> None:
    async with make_provider(server[1], api_key="not-the-key") as provider:
        with pytest.raises(AuthExpired) as failure:
            await provider.captions(captions())
    assert str(failure.value) == "Gemini refused our API key. An administrator needs to check GEMINI_API_KEY."


async def test_an_unknown_model_names_the_model(gemini: GeminiProvider) -> None:
    with pytest.raises(ProviderError) as failure:
        await gemini.captions(captions(model="imagen-9"))
    assert (
        str(failure.value) == "Gemini has no model 'imagen-9'. An administrator needs to check the model id."
    )


@pytest.mark.usefixtures("sdk_http_client")
async def test_an_unreachable_gemini_is_a_provider_error() -> None:
    async with make_provider(f"http://127.0.0.1:{free_port()}") as provider:
        with pytest.raises(ProviderError) as failure:
            await provider.captions(captions())
    assert str(failure.value) == "Could not reach Gemini. Try again in a minute."


async def test_faults_can_be_switched_over_http(server, imitation: Starlette, gemini: GeminiProvider) -> None:
    async with httpx.AsyncClient(base_url=server[1]) as admin:
        reply = await admin.put("/_sandbox/faults", json={"status": 503, "times": 1})
        assert reply.json()["status"] == 503
        with pytest.raises(ProviderError):
            await gemini.captions(captions())
        assert len(await gemini.captions(captions(count=1))) == 1
        log = (await admin.get("/_sandbox/requests")).json()
        assert [entry["path"] for entry in log] == [f"/v1beta/models/{TEXT_MODEL}:generateContent"] * 2
        assert (await admin.put("/_sandbox/faults", json={"nope": 1})).status_code == 400
