"""When the privacy policy or terms change: the banner, its acceptance, and the one email per change.

A change is *material* when the new text moves the `effective` date past the
version the person last accepted. Editing the text without moving the date
(a typo fix) still asks signed-in users to accept it, but emails nobody.
`policy.notify` runs every hour and is idempotent: it records a `PolicyNotice`
per person and version in the same transaction as the email, so each person is
emailed once per material version, however often the job runs.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db, logs
from assetry.config import get_settings
from assetry.errors import BadInput
from assetry.jobs.task import Context
from assetry.models import PolicyAcceptance, PolicyNotice, PolicyVersion, User
from assetry.services import audit, mail, policies

log = logging.getLogger(__name__)

NOTIFY = "policy.notify"
PAGE_SIZE = 200


@dataclass(frozen=True)
class ChangedPolicy:
    """A policy whose current version the person has not accepted yet."""

    kind: str
    title: str
    effective_on: date
    route: str


@dataclass(frozen=True)
class PolicyBanner:
    """What the app shell shows until the person accepts."""

    changes: list[ChangedPolicy]

    @property
    def text(self) -> str:
        titles = " and ".join(change.title.lower() for change in self.changes)
        effective = max(change.effective_on for change in self.changes)
        subject = "The new versions take" if len(self.changes) > 1 else "The new version takes"
        return (
            f"We updated our {titles}. {subject} effect on {effective:%B} {effective.day}, {effective.year}."
        )


async def pending(session: AsyncSession, *, user_id: uuid.UUID) -> PolicyBanner | None:
    """The banner for this user, or None when they accepted every current version."""
    return banner_for(await policies.unaccepted(session, user_id=user_id))


def banner_for(kinds: list[str]) -> PolicyBanner | None:
    """The banner for these unaccepted policy kinds (`policies.unaccepted`), None for none."""
    return PolicyBanner([_changed(kind) for kind in kinds]) if kinds else None


async def accept_current(user_id: uuid.UUID) -> list[str]:
    """Record that the user accepted every current policy version; returns the kinds newly accepted."""
    async with db.service_session() as session:
        kinds = await policies.unaccepted(session, user_id=user_id)
        if not kinds:
            return []
        versions = [await policies.current_version(session, kind) for kind in kinds]
        await policies.record_acceptance(session, user_id=user_id, versions=versions)
        audit.record(
            session, actor_id=user_id, action="policy.accepted", target=str(user_id), detail=",".join(kinds)
        )
    return kinds


async def notify_changes(*, page_size: int = PAGE_SIZE) -> int:
    """Email everyone not yet told about a material change of a current policy; returns how many."""
    async with db.service_session() as session:
        current = [await policies.current_version(session, kind) for kind in policies.KINDS]
    emailed = 0
    after: uuid.UUID | None = None
    while True:
        async with db.service_session() as session:
            query = select(User.id, User.email, User.display_name).where(User.is_disabled.is_(False))
            if after is not None:
                query = query.where(User.id > after)
            users = (await session.exec(query.order_by(User.id).limit(page_size))).all()
            if not users:
                break
            after = users[-1].id
            due: dict[uuid.UUID, list[PolicyVersion]] = {}
            for version in current:
                for user_id in await _not_told(session, version, [user.id for user in users]):
                    due.setdefault(user_id, []).append(version)
            for user in users:
                versions = due.get(user.id)
                if versions:
                    emailed += await _tell(session, user, versions)
    log.info("policy.notify: emailed %d people", emailed)
    return emailed


async def notify(ctx: Context) -> dict:
    """The hourly run of `notify_changes`."""
    return {"emailed": await notify_changes()}


async def _not_told(session: AsyncSession, version: PolicyVersion, user_ids: list[uuid.UUID]) -> list:
    """Of these users, those who neither accepted nor were emailed about a version as recent as `version`."""
    accepted_as_recent = (
        select(PolicyAcceptance.id)
        .join(PolicyVersion, PolicyVersion.id == PolicyAcceptance.policy_version_id)
        .where(
            PolicyAcceptance.user_id == User.id,
            PolicyVersion.kind == version.kind,
            PolicyVersion.effective_on >= version.effective_on,
        )
    )
    told_as_recent = (
        select(PolicyNotice.id)
        .join(PolicyVersion, PolicyVersion.id == PolicyNotice.policy_version_id)
        .where(
            PolicyNotice.user_id == User.id,
            PolicyVersion.kind == version.kind,
            PolicyVersion.effective_on >= version.effective_on,
        )
    )
    query = select(User.id).where(
        User.id.in_(user_ids), ~sa.exists(accepted_as_recent), ~sa.exists(told_as_recent)
    )
    return list((await session.exec(query)).all())


async def _tell(session: AsyncSession, user, versions: list[PolicyVersion]) -> int:
    for version in versions:
        session.add(PolicyNotice(user_id=user.id, policy_version_id=version.id))
    base = get_settings().public_url.rstrip("/")
    changes = [
        {"title": c.title, "effective_on": c.effective_on, "url": base + c.route}
        for c in (_changed(version.kind) for version in versions)
    ]
    try:
        await mail.send(
            session,
            to=user.email,
            template="policy_changed",
            context={"name": user.display_name, "changes": changes},
            user_id=user.id,
        )
    except BadInput:  # an address that no longer parses: recorded as told, not retried forever
        log.warning("policy.notify: user %s has an unusable email address", logs.pseudonym(user.id))
        return 0
    return 1


def _changed(kind: str) -> ChangedPolicy:
    doc = policies.document(kind)
    return ChangedPolicy(kind=kind, title=doc.title, effective_on=doc.effective_on, route=f"/{kind}")
