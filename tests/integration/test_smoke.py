"""The live smoke runner (`make smoke`) against the imitations, its base URLs pointed at them.

The same code a key holder runs: each provider's line says ok, failed with the provider's
message, not configured or skipped, and no key or token ever appears in what it prints.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from assetry import cli
from assetry.config import Settings, get_settings
from assetry.integrations.tiktok import TikTokClient
from assetry.sandbox import anthropic as anthropic_sandbox
from assetry.sandbox import gemini as gemini_sandbox
from assetry.sandbox.apify import SANDBOX_TOKEN, ApifyImitation
from assetry.sandbox.fal import DEFAULT_KEY
from assetry.sandbox.instagram import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, InstagramImitation
from assetry.sandbox.tiktok import TikTokImitation
from assetry.services import smoke
from tests.asgi_server import serve
from tests.integration.servers import Served
from tests.integration.test_tiktok import CALLBACK, consent

POST = "https://www.instagram.com/p/C3xYz_Ab-12/"


@pytest.fixture(scope="module")
def providers() -> Iterator[dict[str, str]]:
    """Gemini, Anthropic, TikTok, Instagram and Apify imitations, each on its own port."""
    tiktok = TikTokImitation(redirect_uris=[CALLBACK])
    instagram = InstagramImitation()
    apps = {
        "gemini": gemini_sandbox.create_app(),
        "anthropic": anthropic_sandbox.create_app(),
        "tiktok": tiktok.app,
        "instagram": instagram.app,
        "apify": ApifyImitation().app,
    }
    with (
        serve(apps["gemini"]) as gemini,
        serve(apps["anthropic"]) as anthropic,
        serve(apps["tiktok"]) as tiktok_url,
        serve(apps["instagram"]) as instagram_url,
        serve(apps["apify"]) as apify,
    ):
        yield {
            "gemini": gemini,
            "anthropic": anthropic,
            "tiktok": tiktok_url,
            "instagram": instagram_url,
            "apify": apify,
            "tiktok_token": _tiktok_token(tiktok, tiktok_url),
            "instagram_token": _instagram_token(instagram, instagram_url),
            "tiktok_key": tiktok.client_key,
            "tiktok_secret": tiktok.client_secret,
        }


def _tiktok_token(imitation: TikTokImitation, url: str) -> str:
    import asyncio

    async def connect() -> str:
        async with httpx.AsyncClient() as http:
            client = TikTokClient(
                http,
                client_key=imitation.client_key,
                client_secret=imitation.client_secret,
                authorize_base=url,
                api_base=url,
            )
            _, query = await consent(http, client.authorize_url("s", CALLBACK), "allow", account="maya.makes")
            return (await client.exchange_code(query["code"], CALLBACK)).access_token

    return asyncio.run(connect())


def _instagram_token(imitation: InstagramImitation, url: str) -> str:
    code = asyncio.run(imitation.grant_code("sandbox_studio", CALLBACK)).removesuffix("#_")
    form = {
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": CALLBACK,
        "code": code,
    }
    short = httpx.post(f"{url}/oauth/access_token", data=form).json()["data"][0]["access_token"]
    params = {
        "grant_type": "ig_exchange_token",
        "client_secret": SANDBOX_CLIENT_SECRET,
        "access_token": short,
    }
    return httpx.get(f"{url}/access_token", params=params).json()["access_token"]


def everything(served: Served, providers: dict[str, str], **changes) -> Settings:
    """Every provider configured, pointed at its imitation."""
    fields = {
        "fal_key": DEFAULT_KEY,
        "fal_queue_url": served.url,
        "smoke_video": True,
        "gemini_api_key": gemini_sandbox.SANDBOX_KEY,
        "gemini_base_url": providers["gemini"],
        "anthropic_api_key": anthropic_sandbox.SANDBOX_KEY,
        "anthropic_base_url": providers["anthropic"],
        "tiktok_client_key": providers["tiktok_key"],
        "tiktok_client_secret": providers["tiktok_secret"],
        "tiktok_api_base": providers["tiktok"],
        "smoke_tiktok_token": providers["tiktok_token"],
        "instagram_client_id": SANDBOX_CLIENT_ID,
        "instagram_client_secret": SANDBOX_CLIENT_SECRET,
        "instagram_api_url": providers["instagram"],
        "instagram_graph_url": providers["instagram"],
        "smoke_instagram_token": providers["instagram_token"],
        "apify_token": SANDBOX_TOKEN,
        "apify_api_url": providers["apify"],
        "smoke_apify_url": POST,
    }
    return Settings(_env_file=None, **(fields | changes))


@pytest.fixture
def fal_trusted(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    served.imitation.reset()
    monkeypatch.setenv("SSL_CERT_FILE", str(served.ca_file))
    monkeypatch.setattr(smoke, "POLL_S", 0.02)
    return served


async def test_every_configured_provider_answers_ok(fal_trusted: Served, providers: dict[str, str]) -> None:
    settings = everything(fal_trusted, providers)
    outcomes = await smoke.run(settings)
    assert [(o.name, o.status) for o in outcomes] == [
        ("fal.ai image", "ok"),
        ("fal.ai video", "ok"),
        ("gemini captions", "ok"),
        ("gemini image", "ok"),
        ("anthropic captions", "ok"),
        ("tiktok me", "ok"),
        ("instagram me", "ok"),
        ("apify", "ok"),
    ], outcomes
    details = {o.name: o.detail for o in outcomes}
    assert details["fal.ai image"].startswith("fal-ai/flux/schnell: 1 image 720x1280")  # the smallest size
    assert details["fal.ai video"] == "fal-ai/veo3/fast: 4 s clip, about $0.40"  # the shortest, cheapest clip
    assert details["gemini image"].startswith("gemini-nano-banana-2.1: 1 image")
    assert details["instagram me"] == "@sandbox_studio (BUSINESS) on v26.0"
    submitted = [
        (app, body.get("duration"), body.get("num_images")) for app, body in fal_trusted.imitation.submissions
    ]
    assert submitted == [("fal-ai/flux/schnell", None, 1), ("fal-ai/veo3/fast", "4s", None)]


async def test_failures_carry_the_providers_message_and_no_key_is_printed(
    fal_trusted: Served, providers: dict[str, str]
) -> None:
    settings = everything(
        fal_trusted,
        providers,
        smoke_video=False,
        gemini_caption_model="gemini-2.5-flash",
        anthropic_api_key="sk-ant-wrong-key-1234567890",
        smoke_instagram_token="IGAA-not-a-token-0987654321",
        apify_token=None,
    )
    fal_trusted.imitation.faults.server_errors = 1
    fal_trusted.imitation.faults.only = "submit"
    outcomes = {o.name: o for o in await smoke.run(settings)}
    assert outcomes["fal.ai image"].status == "failed"
    assert outcomes["fal.ai video"].status == "skipped"
    assert outcomes["gemini captions"].detail == "gemini-2.5-flash was shut down on 2026-12-01; not called"
    assert outcomes["gemini image"].status == "ok"
    assert outcomes["anthropic captions"].detail == (
        "AuthExpired: Anthropic refused our API key. An administrator needs to check ANTHROPIC_API_KEY."
    )
    assert outcomes["instagram me"].status == "failed" and "Reconnect" in outcomes["instagram me"].detail
    assert (outcomes["apify"].status, outcomes["apify"].detail) == (
        "not configured",
        "set APIFY_TOKEN and SMOKE_APIFY_URL",
    )
    printed = smoke.report(list(outcomes.values()), settings)
    for secret in (
        "sk-ant-wrong-key-1234567890",
        "IGAA-not-a-token-0987654321",
        providers["tiktok_token"],
        DEFAULT_KEY,
    ):
        assert secret not in printed
    assert "anthropic captions   failed" in printed


async def test_nothing_configured_says_so_for_every_provider() -> None:
    outcomes = await smoke.run(Settings(_env_file=None))
    assert {o.status for o in outcomes} == {"not configured"}
    assert [o.detail for o in outcomes][:3] == ["set FAL_KEY", "set FAL_KEY", "set GEMINI_API_KEY"]


async def test_doctor_warns_about_unknown_and_retired_models(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "GEMINI_API_KEY": "k",
        "GEMINI_BASE_URL": "http://127.0.0.1:9",
        "GEMINI_CAPTION_MODEL": "gemini-2.5-flash",
        "ANTHROPIC_API_KEY": "k",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "ANTHROPIC_CAPTION_MODEL": "claude-next-big-thing",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    await cli.doctor()
    warnings = [line for line in capsys.readouterr().out.splitlines() if "WARN" in line]
    assert warnings == [
        "models     configured  WARN  GEMINI_CAPTION_MODEL=gemini-2.5-flash was shut down on 2026-12-01 "
        "(https://ai.google.dev/gemini-api/docs/deprecations); use gemini-3.5-flash-lite.",
        "models     configured  WARN  ANTHROPIC_CAPTION_MODEL=claude-next-big-thing is not in the provider catalog, "
        "so the studio does not offer it.",
    ]
    monkeypatch.delenv("GEMINI_CAPTION_MODEL")
    monkeypatch.delenv("ANTHROPIC_CAPTION_MODEL")
    get_settings.cache_clear()
    await cli.doctor()
    assert "WARN" not in capsys.readouterr().out


def test_python_m_assetry_smoke_prints_one_line_per_provider(capsys: pytest.CaptureFixture[str]) -> None:
    get_settings.cache_clear()
    assert cli.main(["smoke"]) == 0  # nothing configured here: nothing failed
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and all("not configured" in line for line in lines)
