"""The admin outbox page: single-use links stay hidden, and a failed message can be sent again."""

from __future__ import annotations

from sqlmodel import select

from assetry import db
from assetry.models import AuditEntry, OutboxMessage
from assetry.pages.admin.outbox import AdminOutboxState
from assetry.services import mail, password_reset
from assetry.services.admin.outbox import HIDDEN_LINK
from tests.admin_people import make_user, session_token
from tests.browserless import Tab
from tests.jobs import engine_jobs, make_due, run_jobs
from tests.smtp_server import SmtpServer


async def _send(to: str, template: str, context: dict) -> OutboxMessage:
    async with db.service_session() as session:
        return await mail.send(session, to=to, template=template, context=context)


async def _stored(message: OutboxMessage) -> OutboxMessage:
    async with db.service_session() as session:
        return await session.get(OutboxMessage, message.id)


async def _run_due_jobs() -> None:
    """Make every queued job due and run them (delivery pauses between attempts)."""
    while [job for job in await engine_jobs() if job.status == "todo"]:
        await make_due()
        await run_jobs()


async def test_security_mails_show_their_single_use_links_hidden(database: str) -> None:
    admin = await make_user("root@assetry.test", admin=True)
    await make_user("maya@example.com")
    await password_reset.request_reset("maya@example.com")
    await _run_due_jobs()  # the request only queues the work: the worker writes the mail
    await _send(
        "new@example.com",
        "email_confirmation",
        {"new_email": "new@example.com", "confirm_url": "http://localhost:3000/settings/email/SECRET-TOKEN"},
    )
    await _send("fan@example.com", "waitlist_invite", {"signup_url": "http://localhost:3000/signup"})
    async with db.service_session() as session:
        stored = {m.template: m.body_text for m in (await session.exec(select(OutboxMessage))).all()}
    reset_link = next(line for line in stored["password_reset"].splitlines() if "/reset/" in line)

    async with Tab(cookie=await session_token(admin.id)) as tab:
        await tab.call(AdminOutboxState.load)
        page = await tab.state(AdminOutboxState)
        shown = {row.template: row for row in page.rows}
        await tab.call(AdminOutboxState.read, message_id=shown["password_reset"].id)
        opened = (await tab.state(AdminOutboxState)).current.body
        everything = repr((await tab.state(AdminOutboxState)).dict())

    assert "Choose a new password:\n" + HIDDEN_LINK in opened
    assert "Confirm this address:\n" + HIDDEN_LINK in shown["email_confirmation"].body
    for secret in (reset_link, reset_link.rsplit("/", 1)[1], "SECRET-TOKEN"):
        assert secret not in everything
    # Links in other mails are no secret and stay readable.
    assert "http://localhost:3000/signup" in shown["waitlist_invite"].body
    assert stored["password_reset"].count("/reset/") == 1  # the stored message itself is unchanged


async def test_a_failed_mail_is_sent_again_once_smtp_is_back(database: str, smtp_server: SmtpServer) -> None:
    admin = await make_user("root@assetry.test", admin=True)
    smtp_server.stop()
    message = await _send("maya@example.com", "welcome", {"name": "Maya"})
    await _run_due_jobs()
    assert (await _stored(message)).status == "failed"

    smtp_server.start()
    async with Tab(cookie=await session_token(admin.id)) as tab:
        await tab.call(AdminOutboxState.load)
        [row] = (await tab.state(AdminOutboxState)).rows
        assert (row.status, row.can_send_again) == ("failed", True)
        assert "unreachable" in row.problem
        await tab.call(AdminOutboxState.send_again, message_id=row.id)
        page = await tab.state(AdminOutboxState)
        assert (page.notice, page.error) == ("Queued to send again to maya@example.com.", "")
        assert [(r.status, r.can_send_again) for r in page.rows] == [("queued", False)]

        await _run_due_jobs()
        await tab.call(AdminOutboxState.send_again, message_id=row.id)  # a second click: it was sent
        assert (await tab.state(AdminOutboxState)).error.startswith("Only a message that failed")

    [received] = smtp_server.inbox
    assert (received.subject, received.rcpt_tos) == ("Welcome to Assetry", ["maya@example.com"])
    assert (await _stored(message)).status == "sent"
    async with db.service_session() as session:
        audited = (
            await session.exec(select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target))
        ).all()
    assert audited == [(admin.id, "admin.mail_sent_again", str(message.id))]
