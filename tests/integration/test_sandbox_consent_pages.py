"""The sandbox consent pages the app mounts send the browser only to the app's own callback.

An authorize link with a foreign redirect_uri must not make the app's origin an open redirect:
neither the page nor its Allow answers with a way elsewhere. The registered callback still
connects the account, through the same mounted page.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from assetry import web
from assetry.config import get_settings
from assetry.services import accounts, connections
from tests.account_setup import SignUp, create_account

# Per platform: its consent page under the app, the form its Allow button sends, and its refusal.
CONSENT: dict[str, tuple[str, Callable[[dict[str, str]], dict[str, str]], str]] = {
    "tiktok": (
        "/sandbox/tiktok/v2/auth/authorize/",
        lambda query: {"requested": query["scope"], "account": "jon.cooks", "decision": "allow"},
        "redirect_uri: not registered for this app.",
    ),
    "instagram": (
        "/sandbox/instagram/oauth/authorize",
        lambda _query: {"account": "sandbox_studio", "decision": "allow"},
        "Invalid redirect_uri",
    ),
}


@pytest.mark.usefixtures("tiktok", "instagram")
@pytest.mark.parametrize("platform", CONSENT)
async def test_the_mounted_consent_page_sends_the_browser_only_to_the_apps_callback(
    database: str, platform: str
) -> None:
    page_path, allow, refusal = CONSENT[platform]
    form = SignUp(
        email="maya@example.com", password="Correct-Horse-42", age_confirmed=True, accepted_policies=True
    )
    user, session_token = await create_account(form, accounts.Client())
    url = await connections.begin(user.id, session_token, platform)
    query = dict(parse_qsl(urlsplit(url).query))
    callback = f"{get_settings().public_url.rstrip('/')}/oauth/{platform}/callback"
    assert query["redirect_uri"] == callback
    foreign = query | {"redirect_uri": f"https://evil.example/oauth/{platform}/callback"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web.routes()), base_url="http://app"
    ) as browser:
        page = await browser.get(page_path, params=foreign)
        decision = await browser.post(page_path, data=foreign | allow(foreign))
        registered = await browser.get(page_path, params=query)
        allowed = await browser.post(page_path, data=query | allow(query))
    for refused in (page, decision):
        assert refused.status_code == 400
        assert "location" not in refused.headers
        assert refusal in refused.text
    assert registered.status_code == 200 and "Sandbox" in registered.text
    # The registered callback still completes the connection.
    assert allowed.status_code == 302
    back = urlsplit(allowed.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == callback
    connected = await connections.complete(platform, dict(parse_qsl(back.query)), session_token)
    assert connected.account_id
