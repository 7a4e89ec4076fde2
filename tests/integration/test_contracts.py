"""Contract tests: the imitations' replies against the providers' own types and recorded documents.

- Gemini, Anthropic, Apify and Supabase Auth replies are validated with the SDKs' response
  models (google-genai's forbid unknown fields; the others check every field's type).
- fal.ai, TikTok and Instagram have no response models in an SDK we use: their imitations are
  held to the documents recorded under tests/contracts/ (page and date in each file). Every key
  a recorded example shows must be in the imitation's reply with the same JSON type.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anthropic.types
import httpx
import pytest
from apify_client._models import Run
from google.genai import types as genai_types
from supabase_auth import types as auth_types

from assetry.integrations.instagram import CHILD_FIELDS, MEDIA_FIELDS
from assetry.integrations.tiktok import TikTokClient
from assetry.sandbox import anthropic as anthropic_sandbox
from assetry.sandbox import gemini as gemini_sandbox
from assetry.sandbox.apify import SANDBOX_TOKEN, ApifyImitation
from assetry.sandbox.fal import DEFAULT_KEY, FalImitation
from assetry.sandbox.instagram import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, InstagramImitation
from assetry.sandbox.supabase_auth import SupabaseAuthImitation
from assetry.sandbox.tiktok import TikTokImitation
from assetry.services import catalog
from tests.integration.test_tiktok import CALLBACK, NOW, consent

RECORDED = Path(__file__).resolve().parent.parent / "contracts"
TIKTOK_VIDEO_FIELDS = (
    "id,title,cover_image_url,create_time,share_url,duration,view_count,like_count,comment_count,share_count"
)
IG_MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,permalink,timestamp,like_count,comments_count"
)
IG_METRICS = "views,reach,likes,comments,saved,shares,total_interactions"


def recorded(name: str) -> dict[str, Any]:
    document = json.loads((RECORDED / name).read_text())
    assert document["source"].startswith("https://") and document["read_on"], name
    return document


def differences(example: Any, reply: Any, path: str = "") -> list[str]:
    """Where the reply lacks a key of the example or has another JSON type there."""
    if isinstance(example, dict):
        if not isinstance(reply, dict):
            return [f"{path or '/'}: an object expected, got {type(reply).__name__}"]
        found = []
        for key, value in example.items():
            if key not in reply:
                found.append(f"{path}/{key}: missing")
            else:
                found += differences(value, reply[key], f"{path}/{key}")
        return found
    if isinstance(example, list):
        if not isinstance(reply, list):
            return [f"{path}: a list expected, got {type(reply).__name__}"]
        if example and not reply:
            return [f"{path}: empty, the example has items"]
        return differences(example[0], reply[0], f"{path}[0]") if example else []
    numbers = (int, float)
    if isinstance(example, bool) or isinstance(reply, bool):
        same = isinstance(example, bool) and isinstance(reply, bool)
    elif isinstance(example, numbers):
        same = isinstance(reply, numbers)
    else:
        same = type(example) is type(reply)
    return [] if same else [f"{path}: {type(example).__name__} expected, got {type(reply).__name__}"]


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://imitation", timeout=30)


# ----- SDK response types -------------------------------------------------------------


async def test_gemini_replies_are_google_genai_responses() -> None:
    async with client_for(gemini_sandbox.create_app()) as http:
        headers = {"x-goog-api-key": gemini_sandbox.SANDBOX_KEY}
        text = await http.post(
            "/v1beta/models/gemini-3.5-flash-lite:generateContent",
            headers=headers,
            json={"contents": [{"role": "user", "parts": [{"text": "Write exactly 2 captions"}]}]},
        )
        image = await http.post(
            "/v1beta/models/gemini-nano-banana-2.1:generateContent",
            headers=headers,
            json={
                "contents": [{"role": "user", "parts": [{"text": "a paper boat"}]}],
                "generationConfig": {
                    "responseModalities": ["TEXT", "IMAGE"],
                    "imageConfig": {"aspectRatio": "9:16"},
                },
            },
        )
    for reply in (text, image):
        assert reply.status_code == 200
        parsed = genai_types.GenerateContentResponse.model_validate(reply.json())  # unknown fields refused
        assert parsed.candidates and parsed.usage_metadata.total_token_count > 0
    assert (
        genai_types.GenerateContentResponse.model_validate(image.json())
        .candidates[0]
        .content.parts[1]
        .inline_data
    )


async def test_anthropic_replies_are_anthropic_messages_and_errors() -> None:
    async with client_for(anthropic_sandbox.create_app()) as http:
        headers = {"x-api-key": anthropic_sandbox.SANDBOX_KEY, "anthropic-version": "2023-06-01"}
        body = {
            "model": "claude-haiku-4-5",
            "max_tokens": 200,
            "messages": [{"role": "user", "content": "hi"}],
        }
        ok = await http.post("/v1/messages", headers=headers, json=body)
        retired = await http.post(
            "/v1/messages", headers=headers, json=body | {"model": "claude-3-5-haiku-20241022"}
        )
    message = anthropic.types.Message.model_validate(ok.json())
    assert message.type == "message" and message.content[0].type == "text"
    error = anthropic.types.ErrorResponse.model_validate(retired.json())
    assert (retired.status_code, error.error.type) == (404, "not_found_error")


async def test_apify_runs_are_apify_client_runs() -> None:
    imitation = ApifyImitation()
    async with client_for(imitation.app) as http:
        started = await http.post(
            "/v2/acts/apify~instagram-scraper/runs",
            params={"token": SANDBOX_TOKEN},
            json={"directUrls": ["https://www.instagram.com/p/C3xYz_Ab-12/"], "resultsType": "posts"},
        )
        run = Run.model_validate(started.json()["data"])
        again = await http.get(
            f"/v2/actor-runs/{run.id}", params={"token": SANDBOX_TOKEN, "waitForFinish": 5}
        )
    assert started.status_code == 201
    assert Run.model_validate(again.json()["data"]).default_dataset_id == run.default_dataset_id


async def test_supabase_sessions_and_users_are_supabase_auth_types() -> None:
    imitation = SupabaseAuthImitation()
    async with client_for(imitation.app) as http:
        headers = {"apikey": imitation.anon_key}
        credentials = {"email": "contract@example.com", "password": "Correct-Horse-42"}
        signed_up = await http.post("/auth/v1/signup", headers=headers, json=credentials)
        token = await http.post(
            "/auth/v1/token", params={"grant_type": "password"}, headers=headers, json=credentials
        )
        session = auth_types.Session.model_validate(token.json())
        me = await http.get(
            "/auth/v1/user", headers=headers | {"Authorization": f"Bearer {session.access_token}"}
        )
    assert signed_up.status_code == 200 and auth_types.Session.model_validate(signed_up.json()).user
    assert auth_types.User.model_validate(me.json()).email == "contract@example.com"


# ----- fal.ai: the model page ------------------------------------------------------------


async def test_veo3_fast_in_the_catalog_and_the_imitation_is_what_fal_documents() -> None:
    page = recorded("fal_veo3_fast.json")
    veo = catalog.known("fal", "fal-ai/veo3/fast")
    assert set(veo.aspects) == set(page["input"]["aspect_ratio"]["enum"])
    assert [veo.duration_format.format(seconds=s) for s in veo.durations] == page["input"]["duration"]["enum"]
    assert (veo.price_usd, veo.audio_price_usd) == tuple(page["price_usd_per_second"].values())
    imitation = FalImitation(polls_in_queue=0, polls_in_progress=0)
    async with client_for(imitation.app) as http:
        headers = {"Authorization": f"Key {DEFAULT_KEY}"}
        queued = await http.post("/fal-ai/veo3/fast", headers=headers, json={"prompt": "a paper boat"})
        assert (
            differences(
                {"request_id": "", "status_url": "", "response_url": "", "cancel_url": ""}, queued.json()
            )
            == []
        )
        await http.get(queued.json()["status_url"], headers=headers)
        output = await http.get(queued.json()["response_url"], headers=headers)
        for aspect in sorted(set(catalog.ASPECTS) - set(page["input"]["aspect_ratio"]["enum"])):
            refused = await http.post(
                "/fal-ai/veo3/fast", headers=headers, json={"prompt": "x", "aspect_ratio": aspect}
            )
            assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
                "body",
                "aspect_ratio",
            ]
    assert differences(page["example_output"], output.json()) == []


# ----- TikTok: recorded documents ------------------------------------------------------


@pytest.fixture
async def tiktok() -> AsyncIterator[tuple[TikTokImitation, httpx.AsyncClient]]:
    imitation = TikTokImitation(now=NOW, redirect_uris=[CALLBACK])
    async with client_for(imitation.app) as http:
        yield imitation, http


async def test_tiktok_replies_have_what_tiktok_documents(tiktok) -> None:
    imitation, http = tiktok
    app = {"client_key": imitation.client_key, "client_secret": imitation.client_secret}
    login = TikTokClient(http, **app, authorize_base="http://imitation", api_base="http://imitation")
    _, callback = await consent(http, login.authorize_url("s", CALLBACK), "allow", account="maya.makes")
    token = await http.post(
        "/v2/oauth/token/",
        data=app | {"code": callback["code"], "grant_type": "authorization_code", "redirect_uri": CALLBACK},
    )
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    user = await http.get(
        "/v2/user/info/", params={"fields": "open_id,union_id,avatar_url,display_name"}, headers=bearer
    )
    listed = await http.post(
        "/v2/video/list/", params={"fields": TIKTOK_VIDEO_FIELDS}, headers=bearer, json={"max_count": 20}
    )
    first = listed.json()["data"]["videos"][0]["id"]
    queried = await http.post(
        "/v2/video/query/",
        params={"fields": TIKTOK_VIDEO_FIELDS},
        headers=bearer,
        json={"filters": {"video_ids": [first]}},
    )
    refreshed = await http.post(
        "/v2/oauth/token/",
        data=app | {"grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"]},
    )
    for document, reply in [
        ("tiktok_oauth_token.json", token),
        ("tiktok_oauth_token.json", refreshed),
        ("tiktok_user_info.json", user),
        ("tiktok_video_list.json", listed),
        ("tiktok_video_query.json", queried),
    ]:
        assert reply.status_code == 200, (document, reply.text)
        assert differences(recorded(document)["example"], reply.json()) == [], document

    for body in recorded("tiktok_oauth_revoke.json")["example_bodies"]:
        imitation.revoke_body = body
        revoked = await http.post("/v2/oauth/revoke/", data=app | {"token": refreshed.json()["access_token"]})
        assert (revoked.status_code, revoked.text) == (200, body)
        refreshed = await http.post(
            "/v2/oauth/token/",
            data=app | {"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]},
        )
        if body == "":  # the revoke ended the grant: no more refreshes, so make a new one
            assert refreshed.json()["error"] == "invalid_grant"
            _, callback = await consent(
                http, login.authorize_url("s", CALLBACK), "allow", account="maya.makes"
            )
            refreshed = await http.post(
                "/v2/oauth/token/",
                data=app
                | {"code": callback["code"], "grant_type": "authorization_code", "redirect_uri": CALLBACK},
            )


# ----- Instagram: recorded documents ---------------------------------------------------


async def test_instagram_replies_have_what_meta_documents() -> None:
    imitation = InstagramImitation()
    imitation.now = imitation.anchor + timedelta(days=3)  # posts old enough to have insights
    redirect = "http://127.0.0.1:3000/oauth/instagram/callback"
    async with client_for(imitation.app) as http:
        code = (await imitation.grant_code("sandbox_studio", redirect)).removesuffix("#_")
        app = {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET}
        short = await http.post(
            "/oauth/access_token",
            data=app | {"grant_type": "authorization_code", "redirect_uri": redirect, "code": code},
        )
        short_token = (short.json().get("data") or [short.json()])[0]["access_token"]
        long = await http.get(
            "/access_token",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": SANDBOX_CLIENT_SECRET,
                "access_token": short_token,
            },
        )
        token = {"access_token": long.json()["access_token"]}
        me = await http.get(
            "/v26.0/me",
            params=token
            | {"fields": "user_id,username,account_type,profile_picture_url,followers_count,media_count"},
        )
        media = await http.get(
            f"/v26.0/{me.json()['user_id']}/media", params=token | {"fields": IG_MEDIA_FIELDS, "limit": 25}
        )
        post = next(m for m in media.json()["data"] if m["media_type"] != "CAROUSEL_ALBUM")
        insights = await http.get(f"/v26.0/{post['id']}/insights", params=token | {"metric": IG_METRICS})
        album = next(m for m in media.json()["data"] if m["media_type"] == "CAROUSEL_ALBUM")
        children = await http.get(f"/v26.0/{album['id']}/children", params=token | {"fields": CHILD_FIELDS})
        imitation.now = imitation.anchor  # stories are live for 24 hours
        stories = await http.get(
            f"/v26.0/{me.json()['user_id']}/stories", params=token | {"fields": MEDIA_FIELDS}
        )
        imitation.now = imitation.anchor + timedelta(days=3)
        header_only = await http.get(
            "/v26.0/me", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        imitation.now += timedelta(days=2)  # a long-lived token refreshes once it is a day old
        refreshed = await http.get("/refresh_access_token", params=token | {"grant_type": "ig_refresh_token"})
    for document, reply in [
        ("instagram_oauth_access_token.json", short),
        ("instagram_access_token.json", long),
        ("instagram_children.json", children),
        ("instagram_stories.json", stories),
        ("instagram_me.json", me),
        ("instagram_media.json", media),
        ("instagram_media_insights.json", insights),
        ("instagram_refresh_access_token.json", refreshed),
    ]:
        assert reply.status_code == 200, (document, reply.text)
        assert differences(recorded(document)["example"], reply.json()) == [], document
    # Meta documents the token as the access_token query parameter only: a header alone is no token.
    assert header_only.status_code == 400 and header_only.json()["error"]["code"] == 2500
