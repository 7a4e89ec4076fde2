"""Email through a real SMTP server on loopback, and the outbox in embedded mode."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.errors import BadInput
from assetry.models import OutboxMessage, User
from assetry.models.base import utcnow
from assetry.services import accounts, mail, password_reset
from assetry.services.admin import jobs as admin_jobs
from tests.account_setup import SignUp, create_account
from tests.admin_people import make_user
from tests.jobs import engine_jobs, run_jobs
from tests.smtp_server import SmtpServer

STRONG = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="pytest")


def signup(email: str = "maya@example.com", name: str = "Maya") -> SignUp:
    return SignUp(email=email, password=STRONG, display_name=name, age_confirmed=True, accepted_policies=True)


async def send(**kwargs) -> OutboxMessage:
    async with db.service_session() as session:
        return await mail.send(session, **kwargs)


async def outbox() -> list[OutboxMessage]:
    async with db.service_session() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.created_at))).all())


async def delivery_job(message: OutboxMessage) -> sa.Row:
    [job] = [job for job in await engine_jobs(mail.DELIVER) if job.args["message_id"] == str(message.id)]
    return job


async def make_due(job: sa.Row) -> None:
    async with db.service_session() as session:
        await session.exec(sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
                           params={"id": job.id})  # fmt: skip


async def test_message_is_delivered_with_its_content(database: str, smtp_server: SmtpServer) -> None:
    message = await send(
        to="Maya@Example.com",
        template="support_reply",
        context={
            "name": "Maya",
            "subject": "My export\r\nBcc: x@evil.test",
            "reply": "Try <b>now</b>.\nThanks",
        },
    )
    assert message.status == "queued"
    await run_jobs()

    [received] = smtp_server.inbox
    assert received.rcpt_tos == ["Maya@example.com"]
    assert received.mail_from == "hello@assetry.test"
    assert received.subject == "Re: My export Bcc: x@evil.test"  # no header injected
    assert received.message["Bcc"] is None
    assert received.message["Message-ID"] == f"<{message.id}@assetry.test>"
    assert "Hi Maya," in received.body("plain")
    assert "> Try <b>now</b>.\n> Thanks" in received.body("plain")
    html = received.body("html")
    assert "Try &lt;b&gt;now&lt;/b&gt;.<br>Thanks" in html
    assert "<b>now" not in html
    [stored] = await outbox()
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, "")
    assert stored.sent_at is not None


async def test_smtp_down_queues_retries_and_delivers_when_back(
    database: str, smtp_server: SmtpServer
) -> None:
    user, _ = await create_account(signup(), HERE)
    smtp_server.stop()
    await password_reset.request_reset("maya@example.com")
    await run_jobs()  # the sign-up link and the welcome are tried, the reset looked up and tried

    stored = await outbox()
    assert [m.status for m in stored] == ["queued", "queued", "queued"]
    assert all(m.attempts == 1 and "unreachable" in m.last_error for m in stored)
    jobs = [await delivery_job(m) for m in stored]
    assert all(j.status == "todo" and j.scheduled_at > utcnow() for j in jobs)  # waiting for the pause

    # Still down at the next attempt: still queued, a longer pause.
    await make_due(jobs[0])
    await run_jobs()
    again = await delivery_job(stored[0])
    assert again.status == "todo" and again.attempts == 2

    smtp_server.start()
    for job in jobs:
        await make_due(job)
    await run_jobs()
    assert sorted(r.subject for r in smtp_server.inbox) == [
        "Finish signing up to Assetry",
        "Reset your Assetry password",
        "Welcome to Assetry",
    ]
    assert all(r.rcpt_tos == [user.email] for r in smtp_server.inbox)
    assert [m.status for m in await outbox()] == ["sent", "sent", "sent"]


async def test_final_failure_is_recorded(database: str, smtp_server: SmtpServer) -> None:
    message = await send(to="maya@example.com", template="welcome", context={})
    smtp_server.stop()
    for _ in range(mail.MAX_ATTEMPTS):
        await make_due(await delivery_job(message))
        await run_jobs()
    job = await delivery_job(message)
    assert (job.status, job.attempts) == ("failed", mail.MAX_ATTEMPTS)
    [stored] = await outbox()
    assert stored.status == "failed"
    assert stored.attempts == mail.MAX_ATTEMPTS
    assert "unreachable" in stored.last_error


async def test_refused_address_fails_at_once(database: str, smtp_server: SmtpServer) -> None:
    smtp_server.refused.add("gone@example.com")
    await send(to="gone@example.com", template="welcome", context={})
    await run_jobs()
    [stored] = await outbox()
    assert stored.status == "failed"
    assert stored.attempts == 1
    assert "refused the address gone@example.com" in stored.last_error
    assert smtp_server.inbox == []


async def test_a_refused_message_is_delivered_when_an_admin_retries_its_job(
    database: str, smtp_server: SmtpServer
) -> None:
    admin = await make_user("ops@example.com", admin=True)
    smtp_server.refused.add("back@example.com")
    message = await send(to="back@example.com", template="welcome", context={})
    await run_jobs()
    [stored] = await outbox()
    assert stored.status == "failed"

    smtp_server.refused.clear()  # the mailbox exists again
    await admin_jobs.retry(admin.id, (await delivery_job(message)).id)
    await run_jobs()

    [received] = smtp_server.inbox
    assert received.rcpt_tos == ["back@example.com"]
    [stored] = await outbox()
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 2, "")
    assert (await delivery_job(message)).status == "succeeded"


async def test_sign_up_sends_welcome_and_reset_link_arrives(database: str, smtp_server: SmtpServer) -> None:
    await create_account(signup(), HERE)
    await password_reset.request_reset("MAYA@example.com")
    await run_jobs()  # the sign-up link, the welcome, the reset request's lookup, the reset
    by_subject = {r.subject: r for r in smtp_server.inbox}
    welcome, reset = by_subject["Welcome to Assetry"], by_subject["Reset your Assetry password"]
    assert "/signup/confirm/" in by_subject["Finish signing up to Assetry"].body("plain")
    assert "http://localhost:3000/home" in welcome.body("plain")

    assert reset.subject == "Reset your Assetry password"
    assert reset.rcpt_tos == ["maya@example.com"]
    text = reset.body("plain")
    link = next(line for line in text.splitlines() if line.startswith("http://localhost:3000/reset/"))
    assert f'href="{link}"' in reset.body("html")
    token = link.rsplit("/", 1)[1]
    await password_reset.reset_password(token, "A-new-Password-7")
    await accounts.log_in("maya@example.com", "A-new-Password-7", HERE)

    # The outbox keeps no usable copy of the one-time link once it was delivered.
    stored = {m.template: m for m in await outbox()}
    assert token not in stored["password_reset"].body_text + stored["password_reset"].body_html
    assert stored["password_reset"].status == "sent"
    assert "/signup/confirm/" not in stored["sign_up_confirmation"].body_text
    assert stored["sign_up_confirmation"].body_html == ""
    assert "Welcome" in stored["welcome"].body_html  # ordinary messages keep their bodies


async def test_embedded_mode_keeps_messages_in_the_outbox(database: str) -> None:
    user, _ = await create_account(signup(name="Ana <admin>"), HERE)
    link, kept = await outbox()
    assert (link.status, link.template, link.user_id) == ("kept", "sign_up_confirmation", user.id)
    assert (kept.status, kept.template, kept.user_id, kept.to_address) == (
        "kept",
        "welcome",
        user.id,
        user.email,
    )
    assert "Hi Ana <admin>," in kept.body_text
    assert "Hi Ana &lt;admin&gt;," in kept.body_html
    # The sign-up job ran (its arguments emptied); no delivery job was queued.
    assert [(job.task_name, job.status, job.args) for job in await engine_jobs()] == [
        ("sign_up.send_link", "succeeded", {})
    ]


async def test_bad_address_or_template_stores_nothing(database: str) -> None:
    with pytest.raises(BadInput, match="doesn't look right"):
        await send(to="not an address", template="welcome", context={})
    with pytest.raises(ValueError, match="no mail template 'welcom'"):
        await send(to="maya@example.com", template="welcom", context={})
    with pytest.raises(ValueError, match="needs context keys: reset_url"):
        await send(to="maya@example.com", template="password_reset", context={})
    with pytest.raises(ValueError, match="absolute http"):
        await send(to="maya@example.com", template="waitlist_invite", context={"signup_url": "javascript:x"})
    assert await outbox() == []


async def test_users_messages_go_with_the_account(database: str) -> None:
    user, _ = await create_account(signup(), HERE)
    await send(to="someone@example.com", template="welcome", context={})  # nobody's
    async with db.service_session() as session:
        await session.exec(sa.delete(User).where(User.id == user.id))
    assert [m.to_address for m in await outbox()] == ["someone@example.com"]


async def test_a_user_reads_only_their_own_messages(database: str) -> None:
    maya, _ = await create_account(signup(), HERE)
    await create_account(signup("ana@example.com", "Ana"), HERE)
    async with db.user_session(maya.id) as session:
        seen = sorted(set((await session.exec(select(OutboxMessage.to_address))).all()))
    # The database refuses other users' rows even to a query without a filter.
    assert seen == ["maya@example.com"]


async def test_privacy_requests_and_exports_are_acknowledged_by_email(
    database: str, smtp_server: SmtpServer
) -> None:
    from assetry.services import privacy, profile

    user, _ = await create_account(signup(), HERE)
    await profile.update_profile(user.id, display_name="Maya", time_zone="Asia/Tokyo")
    await profile.send_privacy_request(user.id, "access", "Which <b>data</b> do you hold about me?")
    await privacy.request_export(user.id)
    await run_jobs()  # welcome, acknowledgements, the export, its "ready" email
    received = {r.subject: r for r in smtp_server.inbox}
    request = received["We received your privacy request"]
    assert request.rcpt_tos == ["maya@example.com"]
    assert "Hi Maya," in request.body("plain")
    assert "within 30 days" in request.body("plain")
    assert "> Which <b>data</b> do you hold about me?" in request.body("plain")
    assert "&lt;b&gt;data" in request.body("html")
    started = received["We're preparing your Assetry data export"]
    assert "http://localhost:3000/settings#export" in started.body("plain")
    ready = received["Your Assetry data export is ready"].body("plain")
    status = await privacy.latest_export(user.id)
    tokyo = status.expires_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"works until {tokyo:%B} {tokyo.day}, {tokyo.year} at {tokyo:%H:%M} (Asia/Tokyo)" in ready
    templates = {m.template for m in await outbox() if m.user_id == user.id}
    assert {"privacy_request_received", "export_requested", "export_ready"} <= templates
