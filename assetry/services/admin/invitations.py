"""Invitations from the waitlist: one entry at once, or everyone still waiting by a background job.

An entry is marked invited and its email is queued in the same transaction, by an
UPDATE that only takes entries not yet invited. So however the two ways race (two
admins, a retried job, a worker that crashed mid-batch), each entry gets one email.

The bulk job invites in batches of `BATCH`, one transaction each, and records how
many it has sent on its round; each change is pushed to every admin's open waitlist page
(`changes.ADMINS`), which shows the progress while it runs.
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
from assetry.jobs import queue
from assetry.jobs.task import Context
from assetry.models import InvitationRound, WaitlistEntry
from assetry.models.base import utcnow
from assetry.models.runs import ACTIVE, RUNNING, SUCCEEDED
from assetry.services import audit, changes, mail
from assetry.services.admin.common import acting_admin, existing
from assetry.services.admin.waitlist import entry_filters

log = logging.getLogger(__name__)

INVITE_ALL = "waitlist.invite_all"
BATCH = 200


@dataclass(frozen=True)
class BulkInvitation:
    """How the latest "invite everyone waiting" went: its status and how many were sent."""

    status: str  # queued | running | succeeded | failed | cancelled
    sent: int
    total: int
    error: str
    started_at: datetime

    @property
    def running(self) -> bool:
        return self.status in ACTIVE


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
        if (latest := await _latest_round(session)) is not None and latest.status in ACTIVE:
            raise BadInput("Invitations are being sent already. Wait until they are done.")
        count = await session.scalar(select(sa.func.count()).select_from(WaitlistEntry).where(*filters)) or 0
        if not count:
            raise BadInput("Nobody here is still waiting for an invitation.")
        invitation_round = InvitationRound(query=query, joined_by=utcnow(), total=count)
        session.add(invitation_round)
        await session.flush()
        await queue.enqueue(session, INVITE_ALL, {"round_id": str(invitation_round.id)})
        await changes.notify(session, changes.ADMINS, changes.INVITATIONS)
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.waitlist_invited_all",
            target=str(invitation_round.id),
            detail=f"{count} waiting" + (f", email containing {query!r}" if query else ""),
        )
    return _progress_of(invitation_round)


async def latest(actor_id: uuid.UUID) -> BulkInvitation | None:
    """The most recent bulk invitation, for the page to show (None when there never was one)."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        invitation_round = await _latest_round(session)
    return _progress_of(invitation_round) if invitation_round else None


async def send_invitations(ctx: Context) -> dict:
    """Invite the waiting entries the admin chose, a batch per transaction, reporting progress."""
    round_id = uuid.UUID(ctx.payload["round_id"])
    async with db.service_session() as session:
        invitation_round = await session.get(InvitationRound, round_id)
        invitation_round.status = RUNNING
        await changes.notify(session, changes.ADMINS, changes.INVITATIONS)
    # Entries that join after the admin clicked are not part of this round.
    filters = [
        *entry_filters(invitation_round.query, "waiting"),
        WaitlistEntry.created_at <= invitation_round.joined_by,
    ]
    sent = invitation_round.sent  # what an earlier, interrupted run already did
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
            sent += invited
            values = {"sent": sent} if invited else {"status": SUCCEEDED, "finished_at": utcnow()}
            await session.exec(
                sa.update(InvitationRound).where(InvitationRound.id == round_id).values(**values)
            )
            await changes.notify(session, changes.ADMINS, changes.INVITATIONS)
        if not invited:
            return {"sent": sent}


async def ended(payload: dict, status: str, message: str) -> None:
    """The round's job failed or was stopped: the waitlist page says so."""
    async with db.service_session() as session:
        await session.exec(
            sa.update(InvitationRound)
            .where(InvitationRound.id == uuid.UUID(payload["round_id"]))
            .values(status=status, error=message[:2000], finished_at=utcnow())
        )
        await changes.notify(session, changes.ADMINS, changes.INVITATIONS)


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
            log.warning("a waitlist invitation was not sent: the entry's address no longer parses")
    return len(marked)


async def _latest_round(session: AsyncSession) -> InvitationRound | None:
    query = select(InvitationRound).order_by(col(InvitationRound.created_at).desc()).limit(1)
    return (await session.exec(query)).first()


def _progress_of(invitation_round: InvitationRound) -> BulkInvitation:
    return BulkInvitation(
        status=invitation_round.status,
        sent=invitation_round.sent,
        total=invitation_round.total,
        error=invitation_round.error,
        started_at=invitation_round.created_at,
    )
