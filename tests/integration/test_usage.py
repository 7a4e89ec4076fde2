"""Usage capture: page views stored server-side with the technical data the privacy policy names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from assetry import db, security
from assetry.models import AuthSession, UsageEvent, User
from assetry.models.base import utcnow
from assetry.services import usage
from assetry.state.session import SessionState
from tests.browserless import DESKTOP_CHROME, IPHONE_SAFARI, Tab


async def _stored() -> list[UsageEvent]:
    async with db.service_session() as session:
        return list((await session.exec(select(UsageEvent).order_by(UsageEvent.created_at))).all())


@pytest.mark.parametrize(
    ("agent", "browser", "device", "os"),
    [
        (IPHONE_SAFARI, "Mobile Safari 17.4", "phone", "iOS 17.4"),
        (DESKTOP_CHROME, "Chrome 124.0.0", "desktop", "Linux"),
    ],
)
async def test_record_stores_a_page_view_with_its_technical_data(
    database: str, agent: str, browser: str, device: str, os: str
) -> None:
    await usage.record(
        usage.PAGE_VIEW, "/privacy", ip="203.0.113.5", user_agent=agent, referrer="https://www.tiktok.com/"
    )
    [event] = await _stored()
    assert (event.kind, event.name, event.user_id) == ("page_view", "/privacy", None)
    assert (event.ip, event.browser, event.device, event.os) == ("203.0.113.5", browser, device, os)
    assert event.referrer == "https://www.tiktok.com/"


async def _signed_in_user() -> tuple[User, str]:
    """A user and the token of a live session of theirs."""
    token = security.new_session_token()
    async with db.service_session() as session:
        user = User(email="maya@example.com", age_confirmed_at=utcnow())
        session.add(user)
        await session.flush()
        expires_at = utcnow() + timedelta(days=1)
        session.add(
            AuthSession(user_id=user.id, token_hash=security.token_digest(token), expires_at=expires_at)
        )
    return user, token


@pytest.mark.parametrize("who", ["signed in", "signed out", "tampered cookie"])
async def test_track_page_view_records_route_ip_and_agent_of_the_browser(database: str, who: str) -> None:
    user, token = await _signed_in_user()
    cookie = {"signed in": token, "signed out": "", "tampered cookie": token[1:] + "x"}[who]
    async with Tab(cookie=cookie, path="/support", ip="198.51.100.23", user_agent=IPHONE_SAFARI) as tab:
        # The path and the referrer are all the browser reports; everything else is read server-side.
        await tab.call(SessionState.track_page_view, path="/support", referrer="https://instagram.com/")
    [event] = await _stored()
    assert (event.kind, event.name) == ("page_view", "/support")
    assert (event.ip, event.device, event.browser) == ("198.51.100.23", "phone", "Mobile Safari 17.4")
    assert event.referrer == "https://instagram.com/"
    assert event.user_id == (user.id if who == "signed in" else None)
