"""The Anthropic integration driving the real anthropic SDK against the local imitation over HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.anthropic import AnthropicProvider
from assetry.integrations.generation import CaptionRequest
from assetry.sandbox.anthropic import SANDBOX_KEY, create_app
from assetry.sandbox.llm import Faults
from tests.asgi_server import free_port, serve

MODEL = "claude-haiku-4-5"
IDEA = "Meal prep for a busy week"


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


def make_provider(base_url: str, **options) -> AnthropicProvider:
    return AnthropicProvider(
        base_url=base_url, **({"api_key": SANDBOX_KEY, "max_retries": 0, "timeout_s": 5} | options)
    )


@pytest.fixture
async def claude(server: tuple[Starlette, str], imitation: Starlette) -> AsyncIterator[AnthropicProvider]:
    async with make_provider(server[1]) as provider:
        yield provider


def captions(**changes) -> CaptionRequest:
    return CaptionRequest(**({"prompt": IDEA, "model": MODEL} | changes))


def sent(imitation: Starlette) -> list:
    return imitation.state.requests.entries


def test_the_module_name_does_not_shadow_the_sdk() -> None:
    import anthropic

    assert anthropic.__file__.endswith("site-packages/anthropic/__init__.py")
    assert sys.modules["assetry.integrations.anthropic"].anthropic is anthropic


async def test_captions_follow_the_brief_and_the_request_carries_tone_and_examples(
    claude: AnthropicProvider, imitation: Starlette
) -> None:
    best = ["Sunday: 2 hours. Weekdays: zero stress. 🥦", "Five lunches, one pan, no excuses."]
    result = await claude.captions(captions(tone="funny", length="medium", count=4, examples=best))

    assert len(result) == 4
    assert len(set(result)) == 4
    assert all(IDEA in caption and "#meal" in caption for caption in result)

    [request] = sent(imitation)
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == f"Bearer {SANDBOX_KEY}"
    assert request.headers["anthropic-version"]
    assert request.body["model"] == MODEL
    assert "Tone: funny." in request.body["system"]
    assert "two to four sentences" in request.body["system"]
    assert "exactly 4 captions" in request.body["system"]
    [message] = request.body["messages"]
    assert message["role"] == "user"
    assert message["content"].startswith(IDEA)
    assert f"<example>\n{best[0]}\n</example>" in message["content"]
    assert f"<example>\n{best[1]}\n</example>" in message["content"]
    assert request.body["max_tokens"] >= 4 * 700 // 3


async def test_a_script_comes_back_without_hashtags(claude: AnthropicProvider, imitation: Starlette) -> None:
    [script] = await claude.captions(captions(kind="script", count=1, hashtags=True))
    assert IDEA in script
    assert "#" not in script
    assert '{"scripts": [' in sent(imitation)[0].body["system"]


@pytest.mark.parametrize("style", ["numbered", "fenced", "chatty"])
async def test_any_reply_shape_gives_the_same_captions(
    claude: AnthropicProvider, faults: Faults, style
) -> None:
    expected = await claude.captions(captions())
    faults.reply_style = style
    assert await claude.captions(captions()) == expected


async def test_the_imitation_accepts_the_older_x_api_key_header(server, imitation: Starlette) -> None:
    body = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}
    headers = {"anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=server[1], headers=headers) as client:
        accepted = await client.post("/v1/messages", json=body, headers={"x-api-key": SANDBOX_KEY})
        refused = await client.post("/v1/messages", json=body, headers={"x-api-key": "wrong"})
    assert accepted.status_code == 200
    assert accepted.json()["content"][0]["type"] == "text"
    assert refused.status_code == 401
    assert refused.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


# ----- faults -------------------------------------------------------------------------------


async def test_the_sdk_waits_as_long_as_retry_after_says(
    server, imitation: Starlette, faults: Faults
) -> None:
    faults.status, faults.times, faults.retry_after = 429, 1, 1
    async with make_provider(server[1], max_retries=1) as provider:
        assert len(await provider.captions(captions(count=2))) == 2
    first, second = sent(imitation)
    assert second.at - first.at >= 0.95


async def test_rate_limit_reports_when_to_try_again(claude: AnthropicProvider, faults: Faults) -> None:
    faults.status, faults.retry_after = 429, 30
    with pytest.raises(RateLimited) as failure:
        await claude.captions(captions())
    assert failure.value.retry_after == 30
    assert str(failure.value) == "Anthropic is rate-limiting us. Try again in 30 seconds."


async def test_overloaded_is_a_provider_error_after_the_retries(server, imitation, faults: Faults) -> None:
    faults.status = 529
    async with make_provider(server[1], max_retries=1) as provider:
        with pytest.raises(ProviderError) as failure:
            await provider.captions(captions())
    assert str(failure.value) == "Claude is overloaded right now. Try again in a few minutes."
    assert len(sent(imitation)) == 2


async def test_a_server_error_is_a_provider_error(claude: AnthropicProvider, faults: Faults) -> None:
    faults.status = 500
    with pytest.raises(ProviderError) as failure:
        await claude.captions(captions())
    assert str(failure.value) == "Anthropic is having trouble (500). Try again in a few minutes."


async def test_the_sdk_retries_passing_failures_itself(server, imitation: Starlette, faults: Faults) -> None:
    faults.status, faults.times = 500, 2
    async with make_provider(server[1], max_retries=2) as provider:
        assert len(await provider.captions(captions(count=1))) == 1
    assert len(sent(imitation)) == 3


async def test_a_slow_reply_times_out(server, imitation: Starlette, faults: Faults) -> None:
    faults.delay_s = 2
    async with make_provider(server[1], timeout_s=0.5) as provider:
        with pytest.raises(ProviderError) as failure:
            await provider.captions(captions())
    assert str(failure.value) == "Claude did not answer within 0.5 seconds. Try again."


async def test_a_malformed_body_is_a_provider_error(claude: AnthropicProvider, faults: Faults) -> None:
    faults.malformed = True
    with pytest.raises(ProviderError) as failure:
        await claude.captions(captions())
    assert str(failure.value) == "Anthropic sent a reply we could not read. Try again."


async def test_a_refusal_tells_the_creator_to_rephrase(claude: AnthropicProvider, faults: Faults) -> None:
    faults.refuse = True
    with pytest.raises(BadInput) as failure:
        await claude.captions(captions())
    assert str(failure.value) == "Claude declined to write this. Rephrase the idea and try again."


async def test_an_empty_answer_is_a_provider_error(claude: AnthropicProvider, faults: Faults) -> None:
    faults.empty = True
    with pytest.raises(ProviderError) as failure:
        await claude.captions(captions())
    assert str(failure.value) == "Claude answered without any text. Try again."


async def test_a_refused_key_is_an_expired_credential(server, imitation: Starlette) -> None:
    async with make_provider(server[1], api_key="not-the-key") as provider:
        with pytest.raises(AuthExpired) as failure:
            await provider.captions(captions())
    assert (
        str(failure.value)
        == "Anthropic refused our API key. An administrator needs to check ANTHROPIC_API_KEY."
    )


async def test_an_unknown_model_names_the_model(claude: AnthropicProvider) -> None:
    with pytest.raises(ProviderError) as failure:
        await claude.captions(captions(model="gpt-9"))
    assert (
        str(failure.value) == "Anthropic has no model 'gpt-9'. An administrator needs to check the model id."
    )


async def test_an_unreachable_anthropic_is_a_provider_error() -> None:
    async with make_provider(f"http://127.0.0.1:{free_port()}") as provider:
        with pytest.raises(ProviderError) as failure:
            await provider.captions(captions())
    assert str(failure.value) == "Could not reach Anthropic. Try again in a minute."


async def test_a_caption_request_the_creator_must_fix_is_never_sent(
    claude: AnthropicProvider, imitation: Starlette
) -> None:
    with pytest.raises(BadInput) as failure:
        await claude.captions(captions(count=12))
    assert str(failure.value) == "Ask for between 1 and 10 at a time."
    assert sent(imitation) == []
