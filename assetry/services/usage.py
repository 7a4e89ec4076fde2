"""Usage capture: page views, feature use and errors, with the technical data the policy names."""

from __future__ import annotations

import uuid

from sqlmodel import select
from user_agents import parse as parse_user_agent

from assetry import db
from assetry.models import UsageEvent, User

PAGE_VIEW, FEATURE, ERROR = "page_view", "feature", "error"


async def record(
    kind: str,
    name: str,
    *,
    user_id: uuid.UUID | None = None,
    ip: str = "",
    user_agent: str = "",
    referrer: str = "",
    detail: str = "",
) -> UsageEvent:
    """Store one usage event; the user agent is reduced to browser, device type and OS.

    A user who chose "don't tie my usage to me" is honoured here, whoever calls: the
    event is stored without their id and without their IP address.
    """
    agent = parse_user_agent(user_agent or "")
    device = (
        "bot" if agent.is_bot else "phone" if agent.is_mobile else "tablet" if agent.is_tablet else "desktop"
    )
    event = UsageEvent(
        user_id=user_id,
        kind=kind,
        name=name[:200],
        ip=ip[:64],
        browser=f"{agent.browser.family} {agent.browser.version_string}".strip()[:64],
        device=device,
        os=f"{agent.os.family} {agent.os.version_string}".strip()[:64],
        referrer=referrer[:512],
        detail=detail[:2000],
    )
    async with db.service_session() as session:
        if user_id is not None and await session.scalar(select(User.usage_opt_out).where(User.id == user_id)):
            event.user_id, event.ip = None, ""
        session.add(event)
    return event
