"""Invitations from the waitlist: one entry at once, or everyone still waiting by a background job.

An entry is marked invited and its email is queued in the same transaction, by an
UPDATE that only takes entries not yet invited. So however the two ways race (two
admins, a retried job, a worker that crashed mid-batch), each entry gets one email.

The bulk job invites in batches of `BATCH`, one transaction each, and records how
many it has sent as the job's progress, which the waitlist page shows while it runs.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput
from assetry.jobs import queue, registry
from assetry.jobs.worker import JobContext
from assetry.models import Job, WaitlistEntry
from assetry.models.base import utcnow
from assetry.models.jobs import QUEUED, RUNNING
from assetry.services import audit, mail
from assetry.services.admin.common import acting_admin, existing
from assetry.services.admin.waitlist import entry_filters

log = logging.getLogger(__name__)

INVITE_ALL = "waitlist.invite_all"
BATCH = 200


@dataclass(frozen=True)
class BulkInvitation:
    """How the latest "invite everyone waiting" went: its job's status and how many were sent."""

    status: str  # queued | running | succeeded | failed | cancelled
    sent: int
    total: int
    error: str
    started_at: datetime

    @property
    def running(self) -> bool:
        return self.status in (QUEUED, RUNNING)


async def invite(actor_id: uuid.UUID, entry_id: uuid.UUID) -> str:
    """Email one entry an invitation to sign up; returns the address. BadInput when already invited."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        entry = await existing(session, WaitlistEntry, entry_id, "waitlist entry")
        if entry.invited_at is not None:
            raise BadInput(f"{entry.email} was already invited on {entry.invited_at:%Y-%m-%d}.")
        if not await _invite(session, WaitlistEntry.id == entry_id):  # by someone else, just now
            raise BadInput(f"{entry.email} was already invited.")
        audit.record(session, actor_id=actor_id, action="admin.waitlist_invited", target=entry.email)
    return entry.email


async def invite_all(actor_id: uuid.UUID, query: str = "") -> BulkInvitation:
    """Invite, by a background job, everyone still waiting whose email contains the query (audited)."""
    filters = entry_filters(query, "waiting")
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        if (latest := await _latest_job(session)) is not None and latest.status in (QUEUED, RUNNING):
            raise BadInput("Invitations are being sent already. Wait until they are done.")
        count = await session.scalar(select(sa.func.count()).select_from(WaitlistEntry).where(*filters)) or 0
        if not count:
            raise BadInput("Nobody here is still waiting for an invitation.")
        now = utcnow()
        job = await queue.enqueue(
            session, INVITE_ALL, {"query": query, "joined_by": now.isoformat(), "total": count}
        )
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.waitlist_invited_all",
            target=str(job.id),
            detail=f"{count} waiting" + (f", email containing {query!r}" if query else ""),
        )
    return _progress_of(job)


async def latest(actor_id: uuid.UUID) -> BulkInvitation | None:
    """The most recent bulk invitation, for the page to show (None when there never was one)."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        job = await _latest_job(session)
    return _progress_of(job) if job else None


@registry.task(INVITE_ALL, lease_seconds=120, max_attempts=5, deadline_seconds=6 * 3600)
async def send_invitations(ctx: JobContext) -> dict:
    """Invite the waiting entries the admin chose, a batch per transaction, reporting progress."""
    total = int(ctx.payload["total"])
    # Entries that join after the admin clicked are not part of this round.
    filters = [
        *entry_filters(ctx.payload["query"], "waiting"),
        WaitlistEntry.created_at <= datetime.fromisoformat(ctx.payload["joined_by"]),
    ]
    sent = int(ctx.job.progress.get("sent", 0))  # what an earlier, interrupted run already did
    while True:
        await ctx.checkpoint()
        batch = (
            select(WaitlistEntry.id)
            .where(*filters)
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
            .limit(BATCH)
        )
        async with db.service_session() as session:
            invited = await _invite(session, col(WaitlistEntry.id).in_(batch.scalar_subquery()))
        if not invited:
            return {"sent": sent, "total": total}
        sent += invited
        await ctx.progress(sent=sent, total=total)


async def _invite(session: AsyncSession, which: sa.ColumnElement[bool]) -> int:
    """Mark the chosen entries that are not invited yet as invited and queue their emails; how many."""
    marked = (
        await session.exec(
            sa.update(WaitlistEntry)
            .where(which, col(WaitlistEntry.invited_at).is_(None))
            .values(invited_at=utcnow())
            .returning(WaitlistEntry.email)
            .execution_options(synchronize_session=False)
        )
    ).all()
    signup_url = get_settings().public_url.rstrip("/") + "/signup"
    for (email,) in marked:
        try:
            await mail.send(session, to=email, template="waitlist_invite", context={"signup_url": signup_url})
        except BadInput:  # an address that no longer parses: marked, so it is not tried again
            log.warning("waitlist invitation not sent to an unusable address %r", email)
    return len(marked)


async def _latest_job(session: AsyncSession) -> Job | None:
    query = select(Job).where(Job.kind == INVITE_ALL).order_by(col(Job.created_at).desc()).limit(1)
    return (await session.exec(query)).first()


def _progress_of(job: Job) -> BulkInvitation:
    progress = job.progress or {}
    return BulkInvitation(
        status=job.status,
        sent=int(progress.get("sent", 0)),
        total=int(job.payload.get("total", 0)),
        error=job.error,
        started_at=job.created_at,
    )
