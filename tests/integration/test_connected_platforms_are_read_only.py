"""The privacy policy: "We never read your private messages, and we never post, edit or
delete anything on a connected platform."

Checked on the wire: a creator connects TikTok and Instagram, the full first sync runs,
then they disconnect; every request our clients sent to the platforms' imitations is a
read of the creator's profile and published posts, or the OAuth token exchange/revoke.
"""

from __future__ import annotations

import re

from assetry.sandbox.instagram import InstagramImitation
from assetry.sandbox.tiktok import TikTokImitation
from assetry.services import connections
from tests.integration import test_instagram_connection as instagram_flow
from tests.integration import test_tiktok_connection as tiktok_flow
from tests.jobs import run_jobs

# TikTok's read APIs are POSTs with a JSON body of fields and a cursor (documented that way).
TIKTOK_ALLOWED = {
    ("POST", "/v2/oauth/token/"),
    ("POST", "/v2/oauth/revoke/"),
    ("GET", "/v2/user/info/"),
    ("POST", "/v2/video/list/"),
    ("POST", "/v2/video/query/"),
}
# Instagram Graph: the account itself, its media, their insights and children; tokens.
INSTAGRAM_READS = re.compile(r"^/(v\d+\.\d+/)?(me|\d+)(/(media|insights|children))?$")
INSTAGRAM_TOKENS = {"/oauth/access_token", "/access_token", "/refresh_access_token"}
INSTAGRAM_CONSENT = "/oauth/authorize"  # the creator's own browser on the consent page, not our client
NEVER = re.compile(r"message|conversation|inbox|publish|comment|container|upload|delete", re.I)


async def sync_all() -> None:
    await run_jobs()


async def test_tiktok_is_only_read(database: str, tiktok: TikTokImitation) -> None:
    user_id, session_token = await tiktok_flow.new_user()
    connected = await tiktok_flow.connect(user_id, session_token, tiktok)
    await sync_all()
    assert await connections.disconnect(user_id, connected.account_id, keep_history=False)

    sent = set(tiktok.requests)
    assert ("POST", "/v2/video/list/") in sent and ("POST", "/v2/oauth/revoke/") in sent
    assert sent <= TIKTOK_ALLOWED, sent - TIKTOK_ALLOWED
    assert not any(NEVER.search(path) for _, path in sent)


async def test_instagram_is_only_read(database: str, instagram: InstagramImitation) -> None:
    user_id, session_token = await instagram_flow.new_user()
    url = await connections.begin(user_id, session_token, "instagram")
    callback = await instagram_flow.consent(instagram, url, "sandbox_studio")
    connected = await connections.complete("instagram", callback, session_token)
    await sync_all()
    await connections.disconnect(user_id, connected.account_id, keep_history=False)

    sent = {(method, path) for method, path, _ in instagram.requests if path != INSTAGRAM_CONSENT}
    graph = {path for method, path in sent if path not in INSTAGRAM_TOKENS}
    assert any(path.endswith("/insights") for path in graph)  # the sync did read insights
    assert all(method == "GET" for method, path in sent if path not in INSTAGRAM_TOKENS), sent
    assert all(INSTAGRAM_READS.match(path) for path in graph), sorted(graph)
    assert not any(NEVER.search(path) for _, path in sent)
