"""Inviting everyone on the waitlist by a background job (mail kept in the outbox)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

import assetry.assetry  # noqa: F401  (the app owns the event namespace that knows which tabs are open)
from assetry import db
from assetry.errors import BadInput
from assetry.models import AuditEntry, InvitationRound, OutboxMessage, User, WaitlistEntry
from assetry.models.base import utcnow
from assetry.pages.admin.waitlist import AdminWaitlistState
from assetry.services import contact
from assetry.services.admin import invitations
from tests.admin_people import make_user, session_token
from tests.browserless import Tab
from tests.jobs import engine_jobs, run_jobs

WAITING = 2_050


@pytest.fixture
async def admin(database: str) -> User:
    return await make_user("root@assetry.test", admin=True)


async def _join(n: int) -> None:
    joined = utcnow() - timedelta(days=3)
    async with db.service_session() as session:
        session.add_all(
            WaitlistEntry(email=f"fan{i:04}@example.com", created_at=joined + timedelta(seconds=i % 7))
            for i in range(n)
        )


async def _invitations_sent() -> list[str]:
    async with db.service_session() as session:
        query = select(OutboxMessage.to_address).where(OutboxMessage.template == "waitlist_invite")
        return list((await session.exec(query)).all())


async def _the_round() -> InvitationRound:
    async with db.service_session() as session:
        return (await session.exec(select(InvitationRound))).one()


async def test_everyone_waiting_is_invited_once_in_the_background(admin: User) -> None:
    await _join(WAITING)
    async with db.service_session() as session:
        early = (
            await session.exec(select(WaitlistEntry).where(WaitlistEntry.email == "fan0007@example.com"))
        ).one()
    assert await invitations.invite(admin.id, early.id) == "fan0007@example.com"

    other_admin = await make_user("ops@assetry.test", admin=True)
    async with (
        Tab(cookie=await session_token(admin.id), path="/admin/waitlist") as tab,
        Tab(cookie=await session_token(other_admin.id), path="/admin/waitlist") as theirs,
    ):
        await tab.open()
        await theirs.open()
        outcome = await tab.call(AdminWaitlistState.invite_all)
        page = await tab.state(AdminWaitlistState)
        # The click returns at once: the job is queued, the page follows it.
        assert [event.name.rsplit(".", 1)[-1] for event in outcome.chained] == ["watch"]
        assert (page.inviting, page.error) == (True, "")
        assert page.invitations == f"Sending invitations to everyone waiting: 0 of {WAITING - 1:,} sent."
        assert len(await _invitations_sent()) == 1
        # Both admins' pages follow the round: woken by the changes the job pushes, never a timer.
        followers = [tab.start(AdminWaitlistState.watch), theirs.start(AdminWaitlistState.watch)]

        await contact.join_waitlist("late@example.com", "")  # joined after the click: not in this round
        with pytest.raises(BadInput, match="being sent already"):
            await invitations.invite_all(admin.id)
        await run_jobs()

        await asyncio.wait_for(asyncio.gather(*followers), 20)  # they stop once the round ended
        for seen in (tab, theirs):
            page = await seen.state(AdminWaitlistState)
            assert (page.inviting, page.waiting, page.invitations_percent) == (False, 1, 100)
            assert page.invitations.endswith(f": {WAITING - 1:,} of {WAITING - 1:,} sent.")

    done = await _the_round()
    assert (done.status, done.sent, done.total) == ("succeeded", WAITING - 1, WAITING - 1)
    sent = await _invitations_sent()
    assert len(sent) == len(set(sent)) == WAITING
    assert "late@example.com" not in sent
    async with db.service_session() as session:
        waiting = (
            await session.exec(select(WaitlistEntry.email).where(WaitlistEntry.invited_at.is_(None)))
        ).all()
        audited = (
            await session.exec(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.created_at))
        ).all()
    assert waiting == ["late@example.com"]
    assert audited == [
        ("admin.waitlist_invited", ""),
        ("admin.waitlist_invited_all", f"{WAITING - 1} waiting"),
    ]


async def test_a_job_run_again_sends_no_second_invitation(admin: User) -> None:
    await _join(WAITING)
    await invitations.invite_all(admin.id, "fan1")  # only the emails containing "fan1"
    await run_jobs()
    first = sorted(await _invitations_sent())
    assert len(first) == 1_000 and all(email.startswith("fan1") for email in first)

    # As if the worker had died before recording the end: the job is claimed and runs again.
    async with db.service_session() as session:
        await session.exec(sa.text("UPDATE procrastinate_jobs SET status = 'todo'"))
        await session.exec(sa.update(InvitationRound).values(status="running"))
    await run_jobs()
    assert sorted(await _invitations_sent()) == first
    again = await _the_round()
    assert (again.status, again.sent, again.total) == ("succeeded", 1_000, 1_000)

    with pytest.raises(BadInput, match="already invited"):
        async with db.service_session() as session:
            entry = (await session.exec(select(WaitlistEntry).where(WaitlistEntry.email == first[0]))).one()
        await invitations.invite(admin.id, entry.id)
    assert len(await _invitations_sent()) == 1_000


async def test_nobody_waiting_queues_nothing(admin: User) -> None:
    with pytest.raises(BadInput, match="Nobody here is still waiting"):
        await invitations.invite_all(admin.id)
    assert await engine_jobs() == []
    async with db.service_session() as session:
        assert await session.scalar(select(sa.func.count()).select_from(InvitationRound)) == 0
