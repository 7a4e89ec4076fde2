"""Connecting Instagram and syncing it with insights, through the real client against the imitation (both DBs)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.models import ConnectedAccount, MetricSnapshot, Post
from assetry.sandbox.instagram import InstagramImitation
from assetry.services import accounts, connections, dashboard
from tests.account_setup import SignUp, create_account
from tests.jobs import run_jobs


async def new_user() -> tuple[uuid.UUID, str]:
    form = SignUp(email="ig@example.com", password="Correct-Horse-42", age_confirmed=True,
                           accepted_policies=True)  # fmt: skip
    user, token = await create_account(form, accounts.Client())
    return user.id, token


async def consent(
    imitation: InstagramImitation, url: str, account: str, decision: str = "allow"
) -> dict[str, str]:
    query = dict(parse_qsl(urlsplit(url).query))
    transport = httpx.ASGITransport(app=imitation.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as browser:
        reply = await browser.post(
            "/oauth/authorize", data=query | {"account": account, "decision": decision}
        )
    assert reply.status_code == 302, reply.text
    location = reply.headers["location"]
    assert location.endswith("#_")  # Instagram's quirk: the client strips it
    return dict(parse_qsl(urlsplit(location).query))


async def test_a_creator_account_connects_and_syncs_with_insights(
    database: str, instagram: InstagramImitation
) -> None:
    user_id, session_token = await new_user()
    url = await connections.begin(user_id, session_token, "instagram")
    connected = await connections.complete(
        "instagram", await consent(instagram, url, "sandbox_studio"), session_token
    )
    await run_jobs()
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
        posts = await session.scalar(
            select(sa.func.count()).select_from(Post).where(Post.account_id == account.id)
        )
        reach = await session.scalar(
            select(sa.func.count()).select_from(MetricSnapshot).where(MetricSnapshot.reach.is_not(None))
        )
        reasons = (await session.exec(select(MetricSnapshot.missing))).all()
    assert account.first_sync_done and account.followers and account.refresh_token_enc is None
    assert posts > 100 and reach > 0
    assert any(r for r in reasons)  # lagging or hidden numbers say why
    best = await dashboard.best_captions(user_id)
    assert best and all(best)


async def test_personal_accounts_are_refused_with_a_clear_message(
    database: str, instagram: InstagramImitation
) -> None:
    user_id, session_token = await new_user()
    url = await connections.begin(user_id, session_token, "instagram")
    with pytest.raises(Exception, match="business or creator") as refused:
        await connections.complete(
            "instagram", await consent(instagram, url, "sandbox_personal"), session_token
        )
    assert refused.value.__class__.__name__ == "BadInput"
    async with db.service_session() as session:
        assert await session.scalar(select(sa.func.count()).select_from(ConnectedAccount)) == 0


async def test_disconnect_instagram_deletes_tokens_and_says_it_cannot_revoke(
    database: str, instagram: InstagramImitation
) -> None:
    user_id, session_token = await new_user()
    url = await connections.begin(user_id, session_token, "instagram")
    connected = await connections.complete(
        "instagram", await consent(instagram, url, "sandbox_creator"), session_token
    )
    assert await connections.disconnect(user_id, connected.account_id, keep_history=False) is False
    async with db.service_session() as session:
        assert await session.get(ConnectedAccount, connected.account_id) is None
