"""Admin services: search and pages, roles, disable, quota, jobs, waitlist, inbox, audit."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.models import (
    AuditEntry,
    AuthSession,
    ConnectedAccount,
    Generation,
    OutboxMessage,
    SupportMessage,
    User,
    WaitlistEntry,
)
from assetry.models.base import utcnow
from assetry.services import accounts, connections, contact, studio, usage
from assetry.services.admin import audit_log, inbox, invitations, jobs, overview, users, waitlist
from assetry.services.admin.paging import Window
from tests.account_setup import SignUp, create_account
from tests.admin_people import PASSWORD, make_user, session_token
from tests.jobs import engine_jobs, queued_job


@pytest.fixture
async def admin(database: str) -> User:
    return await make_user("root@assetry.test", admin=True)


async def audit_actions() -> list[str]:
    async with db.service_session() as session:
        return list((await session.exec(select(AuditEntry.action).order_by(AuditEntry.created_at))).all())


async def stored_user(user_id: uuid.UUID) -> User:
    async with db.service_session() as session:
        return await session.get(User, user_id)


# ----- search and pages ------------------------------------------------------------------------


async def test_search_by_prefix_or_anywhere_newest_first_in_pages(admin: User) -> None:
    start = utcnow() - timedelta(days=10)
    for i in range(7):
        await make_user(f"maya{i}@studio.test", created_at=start + timedelta(hours=i))
    await make_user("theo@maya.test", created_at=start)
    await make_user("max_power@x.test", created_at=start)
    await make_user("maxxpower@x.test", created_at=start)

    first = await users.search(admin.id, "MAYA", window=Window(size=3))
    assert (first.total, first.pages, first.has_previous, first.has_next) == (7, 3, False, True)
    assert [row.email for row in first.rows] == [
        "maya6@studio.test",
        "maya5@studio.test",
        "maya4@studio.test",
    ]
    second = await users.search(admin.id, "maya", window=Window(after=first.last, size=3))
    last = await users.search(admin.id, "maya", window=Window(after=second.last, size=3))
    assert [row.email for row in last.rows] == ["maya0@studio.test"]
    assert (last.has_previous, last.has_next) == (True, False)
    anywhere = await users.search(admin.id, "maya", anywhere=True)
    assert anywhere.total == 8 and "theo@maya.test" in {row.email for row in anywhere.rows}
    # `_` and `%` are letters in a search, not wildcards
    assert [row.email for row in (await users.search(admin.id, "max_")).rows] == ["max_power@x.test"]
    assert (await users.search(admin.id, "%")).total == 0
    admins = await users.search(admin.id, role="admins")
    assert [row.email for row in admins.rows] == ["root@assetry.test"]
    with pytest.raises(BadInput):
        await users.search(admin.id, role="everyone")
    with pytest.raises(BadInput):
        await users.search(admin.id, "x" * 255)


async def test_a_nonsense_page_size_is_kept_within_bounds(admin: User) -> None:
    result = await users.search(admin.id, window=Window(size=-4))
    assert result.size == 1 and [row.email for row in result.rows] == [admin.email]


@pytest.mark.parametrize("kind", ["member", "disabled admin", "unknown"])
async def test_services_refuse_anyone_but_an_enabled_admin(database: str, kind: str) -> None:
    if kind == "unknown":
        actor_id = uuid.uuid4()
    else:
        actor_id = (await make_user("eve@x.test", admin=kind != "member", disabled=kind != "member")).id
    target = await make_user("victim@x.test")
    calls = [
        users.search(actor_id),
        users.detail(actor_id, target.id),
        users.set_disabled(actor_id, target.id, True),
        users.set_admin(actor_id, target.id, True),
        users.set_quota(actor_id, target.id, 0),
        overview.overview(actor_id),
        jobs.listing(actor_id),
        waitlist.listing(actor_id),
        waitlist.export_csv(actor_id),
        inbox.listing(actor_id),
        audit_log.entries(actor_id),
    ]
    for call in calls:
        with pytest.raises(NotAllowed):
            await call
    after = await stored_user(target.id)
    assert (after.is_disabled, after.is_admin, after.daily_quota) == (False, False, None)
    assert await audit_actions() == []


# ----- roles, disabling, quotas ----------------------------------------------------------------


async def test_the_last_admin_keeps_the_role(admin: User) -> None:
    with pytest.raises(NotAllowed, match="last admin"):
        await users.set_admin(admin.id, admin.id, False)
    assert (await stored_user(admin.id)).is_admin

    other = await make_user("second@assetry.test")
    await users.set_admin(admin.id, other.id, True)
    await users.set_admin(other.id, admin.id, False)  # now there is another admin
    assert not (await stored_user(admin.id)).is_admin
    with pytest.raises(NotAllowed):  # no longer an admin, so no longer allowed
        await users.set_admin(admin.id, admin.id, True)
    with pytest.raises(NotAllowed, match="last admin"):
        await users.set_admin(other.id, other.id, False)
    assert await audit_actions() == ["admin.granted", "admin.revoked"]


async def test_a_disabled_admin_does_not_count_and_the_last_enabled_one_cannot_be_disabled(
    admin: User,
) -> None:
    other = await make_user("second@assetry.test", admin=True)
    await users.set_disabled(admin.id, other.id, True)
    with pytest.raises(NotAllowed, match="last admin"):
        await users.set_admin(admin.id, admin.id, False)
    with pytest.raises(NotAllowed, match="your own account"):
        await users.set_disabled(admin.id, admin.id, True)
    with pytest.raises(BadInput, match="Enable it"):
        await users.set_admin(admin.id, (await make_user("x@x.test", disabled=True)).id, True)


async def test_disabling_ends_sessions_and_log_in_until_enabled(admin: User) -> None:
    member = await make_user("maya@example.com")
    token = await session_token(member.id)
    assert (await accounts.user_for_token(token)).id == member.id

    await users.set_disabled(admin.id, member.id, True)
    assert await accounts.user_for_token(token) is None
    async with db.service_session() as session:
        live = (await session.exec(select(AuthSession).where(AuthSession.revoked_at.is_(None)))).all()
    assert live == []
    with pytest.raises(NotAllowed, match="disabled"):
        await accounts.log_in("maya@example.com", PASSWORD, accounts.Client())

    await users.set_disabled(admin.id, member.id, False)
    user, _ = await accounts.log_in("maya@example.com", PASSWORD, accounts.Client())
    assert user.id == member.id
    assert await audit_actions() == ["admin.user_disabled", "admin.user_enabled"]


async def test_a_users_own_quota_limits_their_generations(admin: User) -> None:
    member = await make_user("maya@example.com")
    request = studio.StudioRequest(kind="image", prompt="a lighthouse", model_key="offline:preview-image")
    await users.set_quota(admin.id, member.id, users.parse_quota("1"))
    await studio.start(member.id, request, client_request_id="one")
    with pytest.raises(BadInput, match="all 1 generations"):
        await studio.start(member.id, request, client_request_id="two")
    await users.set_quota(admin.id, member.id, users.parse_quota(""))  # back to the site-wide default
    await studio.start(member.id, request, client_request_id="three")
    detail = await users.detail(admin.id, member.id)
    assert (detail.daily_quota, detail.effective_quota, detail.generations_today) == (None, 50, 2)
    for bad in ("-1", "ten", "1.5", "10001"):
        with pytest.raises(BadInput):
            await users.set_quota(admin.id, member.id, users.parse_quota(bad))
    async with db.service_session() as session:
        details = (await session.exec(select(AuditEntry.detail).order_by(AuditEntry.created_at))).all()
    assert details == ["default → 1", "1 → default"]


async def test_user_detail_counts_content_and_shows_no_secret(admin: User) -> None:
    member = await make_user("maya@example.com")
    async with db.service_session() as session:
        session.add(
            ConnectedAccount(
                user_id=member.id, platform="tiktok", platform_account_id="42", username="maya.makes",
                status="needs_reconnect", access_token_enc="v1:k:SECRET", refresh_token_enc="v1:k:SECRET2",
            )
        )  # fmt: skip
        for i in range(3):
            session.add(
                Generation(user_id=member.id, kind="image", prompt=f"p{i}", provider="offline", model="m")
            )
    await session_token(member.id)
    detail = await users.detail(admin.id, member.id)
    counts = dict(detail.counts)
    assert (counts["Generations"], counts["Connected accounts"], counts["Posts"]) == (3, 1, 0)
    assert detail.live_sessions == 1
    assert [(a.platform, a.username, a.status) for a in detail.accounts] == [
        ("tiktok", "maya.makes", "needs_reconnect")
    ]
    shown = repr(detail)
    assert "SECRET" not in shown and "password" not in shown and "$argon2" not in shown
    assert await users.detail(admin.id, uuid.uuid4()) is None


# ----- overview --------------------------------------------------------------------------------


async def test_overview_counts_per_day_and_never_names_anyone(admin: User) -> None:
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    day = timedelta(days=1)
    maya = await make_user("maya@example.com", created_at=now - 2 * day)
    theo = await make_user("theo@example.com", created_at=now - 2 * day)
    await make_user("old@example.com", created_at=now - 60 * day)
    for who, when in [(maya, now), (maya, now - day), (theo, now), (maya, now), (theo, now - 20 * day)]:
        await usage.record(usage.PAGE_VIEW, "/home", user_id=who.id, now=when)
    await usage.record(usage.PAGE_VIEW, "/", now=now)
    async with db.service_session() as session:
        for status, cost in [("succeeded", 0.5), ("succeeded", 0.25), ("failed", 0.0)]:
            session.add(
                Generation(
                    user_id=maya.id, kind="video", prompt="p", provider="fal", model="m", status=status,
                    cost_usd=cost, created_at=now - day,
                )
            )  # fmt: skip
        session.add(Generation(user_id=theo.id, kind="image", prompt="p", provider="offline", model="m",
                               status="succeeded", created_at=now - 40 * day))  # fmt: skip
        session.add(WaitlistEntry(email="w1@x.test", created_at=now - 30 * day))
        session.add(WaitlistEntry(email="w2@x.test", created_at=now - day, invited_at=now))

    await queued_job(connections.SYNC_TASK, {"account_id": str(uuid.uuid4())}, status="failed")

    result = await overview.overview(admin.id, 7, now=now)
    assert result.days[0].isoformat() == "2026-03-04" and result.days[-1].isoformat() == "2026-03-10"
    assert result.signups == [0, 0, 0, 0, 2, 0, 0]
    assert result.active == [0, 0, 0, 0, 0, 1, 2]
    assert (result.active_day, result.active_week, result.active_month) == (2, 2, 2)
    assert result.waitlist == [1, 1, 1, 1, 1, 2, 2]
    assert (result.waitlist_total, result.waitlist_invited) == (2, 1)
    assert [(g.kind, g.provider, g.status, g.count, g.cost_usd) for g in result.generations] == [
        ("video", "fal", "failed", 1, 0.0),
        ("video", "fal", "succeeded", 2, 0.75),
    ]
    assert (result.generations_count, result.generations_cost) == (3, 0.75)
    assert result.failed_jobs == [(connections.SYNC_TASK, 1)]
    assert result.users_total == 4
    shown = repr(result)
    assert "maya" not in shown and str(maya.id) not in shown
    with pytest.raises(BadInput):
        await overview.overview(admin.id, 12)


# ----- jobs ------------------------------------------------------------------------------------


async def _job(status: str) -> int:
    return await queued_job(studio.TASK, {"generation_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())},
                            status=status)  # fmt: skip


async def test_jobs_filtered_retried_and_cancelled(admin: User) -> None:
    failed = await _job("failed")
    queued = await _job("todo")
    await _job("succeeded")
    listed = await jobs.listing(admin.id, status="failed")
    assert [(row.id, row.kind, row.queue, row.user_email) for row in listed.rows] == [
        (failed, studio.TASK, "interactive", "")
    ]
    assert (await jobs.listing(admin.id, kind=studio.TASK)).total == 3
    assert (await jobs.listing(admin.id, kind="nope")).total == 0
    with pytest.raises(BadInput):
        await jobs.listing(admin.id, status="exploded")

    await jobs.retry(admin.id, failed)
    assert [job.status for job in await engine_jobs() if job.id == failed] == ["todo"]
    with pytest.raises(BadInput, match="Only failed jobs"):
        await jobs.retry(admin.id, queued)

    await jobs.cancel(admin.id, queued)
    assert [job.status for job in await engine_jobs() if job.id == queued] == ["cancelled"]
    with pytest.raises(BadInput, match="already ended"):
        await jobs.cancel(admin.id, queued)
    with pytest.raises(BadInput):
        await jobs.retry(admin.id, 10**12)
    assert await audit_actions() == ["admin.job_retried", "admin.job_cancelled"]


async def test_a_running_job_is_asked_to_stop(admin: User) -> None:
    running = await _job("doing")
    await jobs.cancel(admin.id, running)
    listed = (await jobs.listing(admin.id)).rows
    assert [(row.status, row.abort_requested) for row in listed] == [("doing", True)]


# ----- waitlist, inbox, audit ------------------------------------------------------------------


async def test_waitlist_search_pages_and_formula_safe_csv(admin: User) -> None:
    for i in range(5):
        await contact.join_waitlist(f"fan{i}@example.com", "")
    await contact.join_waitlist("=cmd@example.com", "")
    first = await waitlist.listing(admin.id, "fan", window=Window(size=2))
    page = await waitlist.listing(admin.id, "fan", window=Window(after=first.last, size=2))
    assert page.total == 5 and [row.email for row in page.rows] == ["fan2@example.com", "fan3@example.com"]
    assert page.extra["waiting"] == 6
    rows = list(csv.reader(io.StringIO(await waitlist.export_csv(admin.id))))
    assert rows[0] == ["email", "joined_at", "invited_at"]
    assert len(rows) == 7 and "'=cmd@example.com" in {row[0] for row in rows}
    assert (await waitlist.listing(admin.id, invited="invited")).total == 0
    assert await audit_actions() == ["admin.waitlist_exported"]


async def test_inbox_lists_open_messages_and_marks_them_done(admin: User) -> None:
    first = await contact.send_support_message(email="a@example.com", subject="Export?", body="Where is it?")
    await contact.send_support_message(email="b@example.com", subject="Bug", body="It broke.")
    page = await inbox.listing(admin.id)
    assert [row.subject for row in page.rows] == ["Export?", "Bug"] and page.extra["open"] == 2
    await inbox.set_status(admin.id, first.id, "done")
    assert [row.subject for row in (await inbox.listing(admin.id)).rows] == ["Bug"]
    assert [row.subject for row in (await inbox.listing(admin.id, status="done")).rows] == ["Export?"]
    await inbox.set_status(admin.id, first.id, "open")
    with pytest.raises(BadInput):
        await inbox.set_status(admin.id, first.id, "deleted")
    assert await audit_actions() == ["admin.support_done", "admin.support_reopened"]


async def test_reply_and_invite_go_through_the_mail_outbox(admin: User) -> None:
    message = await contact.send_support_message(
        email="a@example.com", subject="Export?", body="Where is it?"
    )
    await inbox.reply(admin.id, message.id, "It's under Account → Export.")
    await contact.join_waitlist("fan@example.com", "")
    entry = (await waitlist.listing(admin.id)).rows[0]
    await invitations.invite(admin.id, entry.id)
    with pytest.raises(BadInput, match="already invited"):
        await invitations.invite(admin.id, entry.id)
    async with db.service_session() as session:
        sent = (await session.exec(select(OutboxMessage.to_address, OutboxMessage.template))).all()
        replied = (await session.get(SupportMessage, message.id)).replied_at
    assert sorted(sent) == [("a@example.com", "support_reply"), ("fan@example.com", "waitlist_invite")]
    assert replied is not None
    assert (await waitlist.listing(admin.id, invited="invited")).total == 1


async def test_audit_log_filters_and_names_targets(admin: User) -> None:
    member = await make_user("maya@example.com")
    await users.set_quota(admin.id, member.id, 5)
    await users.set_disabled(admin.id, member.id, True)
    everything = await audit_log.entries(admin.id)
    assert [row.action for row in everything.rows] == ["admin.user_disabled", "admin.quota_set"]
    assert {(row.actor_email, row.target_email) for row in everything.rows} == {(admin.email, member.email)}
    assert (await audit_log.entries(admin.id, action="admin.quota")).total == 1
    assert (await audit_log.entries(admin.id, actor_email="nobody")).total == 0
    assert (await audit_log.entries(admin.id, target=str(member.id))).total == 2
    trail = await audit_log.trail_of(admin.id, member.id)
    assert trail.total == 2
    await audit_log.record_refusal(member.id, "UsersState.load")
    await audit_log.record_refusal(None, "UsersState.load")
    async with db.service_session() as session:
        refused = (
            await session.exec(
                select(AuditEntry.actor_id, AuditEntry.target).where(AuditEntry.action == "admin.refused")
            )
        ).all()
    assert refused == [(member.id, "UsersState.load")]
    async with db.service_session() as session:
        assert await session.scalar(select(sa.func.count()).select_from(AuditEntry)) == 3


async def test_last_log_in_counts_the_sign_up_session_too(admin: User) -> None:
    before = utcnow()
    signed_up, _ = await create_account(
        SignUp(email="new@example.com", password=PASSWORD, age_confirmed=True, accepted_policies=True),
        accounts.Client(ip="203.0.113.9", user_agent="pytest"),
    )  # signed in by opening the sign-up link: no log-in form was sent
    detail = await users.detail(admin.id, signed_up.id)
    assert detail.last_login_at is not None and detail.last_login_at >= before
    never = await make_user("maya@example.com")
    assert (await users.detail(admin.id, never.id)).last_login_at is None
