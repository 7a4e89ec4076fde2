"""The audit log, as admins browse it (read-only), and refusals of admin actions."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from assetry import db, logs
from assetry.models import AuditEntry, User
from assetry.services import audit
from assetry.services.admin.common import acting_admin, clean_search, like_pattern
from assetry.services.admin.paging import Page, SortKey, Window, read_page

log = logging.getLogger(__name__)
REFUSED = "admin.refused"


@dataclass(frozen=True)
class AuditRow:
    id: uuid.UUID
    created_at: datetime
    actor_email: str  # "" for the service itself (CLI, jobs)
    action: str
    target: str
    target_email: str  # when the target is a user that still exists
    detail: str


async def record_refusal(user_id: uuid.UUID | None, action: str) -> None:
    """A non-admin (or a signed-out browser) asked for an admin action: log it, and audit a known user."""
    log.warning(
        "admin action %s refused for %s",
        action,
        logs.pseudonym(user_id) if user_id else "a signed-out browser",
    )
    if user_id is None:
        return  # nobody to attribute it to; the log line is the record
    async with db.service_session() as session:
        audit.record(session, actor_id=user_id, action=REFUSED, target=action[:200])


NEWEST = SortKey(col(AuditEntry.created_at), col(AuditEntry.id), newest_first=True)


async def entries(
    actor_id: uuid.UUID,
    *,
    action: str = "",
    actor_email: str = "",
    target: str = "",
    window: Window = Window(),
) -> Page[AuditRow]:
    """Audit entries, newest first, filtered by action prefix, actor email prefix and exact target."""
    action, actor_email, target = clean_search(action), clean_search(actor_email), clean_search(target)
    actor = aliased(User)
    filters = []
    if action:
        filters.append(AuditEntry.action.like(like_pattern(action), escape="\\"))
    if actor_email:
        filters.append(actor.email.like(like_pattern(actor_email), escape="\\"))
    if target:
        filters.append(AuditEntry.target == target)
    return await _page(actor_id, filters, actor, window)


async def trail_of(
    actor_id: uuid.UUID, user_id: uuid.UUID, *, window: Window = Window(size=20)
) -> Page[AuditRow]:
    """What happened to a user and what they did: entries naming them as target or actor."""
    actor = aliased(User)
    filters = [sa.or_(AuditEntry.target == str(user_id), AuditEntry.actor_id == user_id)]
    return await _page(actor_id, filters, actor, window)


async def _page(actor_id: uuid.UUID, filters: list, actor, window: Window) -> Page[AuditRow]:
    listed = (
        sa.select(AuditEntry, actor.email).outerjoin(actor, actor.id == AuditEntry.actor_id).where(*filters)
    )
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, listed, NEWEST, window)
        emails = await _emails_of_targets(session, [entry.target for entry, _ in found.rows])
    found.rows = [
        AuditRow(
            entry.id, entry.created_at, email or "", entry.action, entry.target,
            emails.get(entry.target, ""), entry.detail,
        )
        for entry, email in found.rows
    ]  # fmt: skip
    return found


async def _emails_of_targets(session, targets: list[str]) -> dict[str, str]:
    ids = set()
    for target in targets:
        try:
            ids.add(uuid.UUID(target))
        except ValueError:
            continue
    if not ids:
        return {}
    found = (await session.exec(select(User.id, User.email).where(User.id.in_(ids)))).all()
    return {str(user_id): email for user_id, email in found}
