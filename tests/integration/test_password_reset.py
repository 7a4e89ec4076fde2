"""Password reset by email for local accounts (embedded mail: the link is read from the outbox)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import OutboxMessage, PasswordReset, User, metadata
from assetry.models.base import utcnow
from assetry.services import accounts, password_reset
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, run_jobs

STRONG = "Correct-Horse-42"
NEW = "Another-Horse-77"
HERE = accounts.Client(ip="203.0.113.7", user_agent="pytest")


async def sign_up(email: str = "maya@example.com"):
    return await create_account(
        SignUp(email=email, password=STRONG, age_confirmed=True, accepted_policies=True), HERE
    )


async def reset_emails() -> list[OutboxMessage]:
    async with db.service_session() as session:
        return list(
            (
                await session.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.template == "password_reset")
                    .order_by(OutboxMessage.created_at)
                )
            ).all()
        )


async def link_token(message: OutboxMessage) -> str:
    return re.search(r"http://localhost:3000/reset/(\S+)", message.body_text).group(1)


async def request(email: str = "maya@example.com") -> str:
    """Ask for a reset as the form does, then let the worker send what it sends; returns the answer."""
    answer = await password_reset.request_reset(email)
    await run_jobs()
    return answer


async def ask(email: str = "maya@example.com") -> str:
    """Request a reset and return the token from the newest email."""
    await request(email)
    return await link_token((await reset_emails())[-1])


async def stored_rows() -> dict[str, list[dict]]:
    """Every row of every table."""
    async with db.service_session() as session:
        rows = {
            name: [dict(row._mapping) for row in (await session.exec(sa.select(table))).all()]
            for name, table in metadata.tables.items()
        }
    rows["procrastinate_jobs"] = [dict(row._mapping) for row in await engine_jobs()]
    return rows


def added(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The rows `after` holds that `before` did not, by table (tables with none left out)."""
    new = {name: [row for row in rows if row not in before[name]] for name, rows in after.items()}
    return {name: rows for name, rows in new.items() if rows}


async def test_known_and_unknown_addresses_get_the_same_answer_and_leave_the_same_trace(
    database: str,
) -> None:
    await sign_up()
    before = await stored_rows()
    known = await password_reset.request_reset("maya@example.com")
    after_known = await stored_rows()
    unknown = await password_reset.request_reset("nobody@example.com")
    after_unknown = await stored_rows()
    assert known.replace("maya", "X") == unknown.replace("nobody", "X")
    assert "If an account exists for nobody@example.com" in unknown

    # By the time the answer comes back, each request has stored the same one thing, a job for
    # the worker (no reset link, no email, no audit entry), and changed nothing else.
    first, second = added(before, after_known), added(after_known, after_unknown)
    assert list(first) == list(second) == ["procrastinate_jobs"]
    assert len(after_unknown["procrastinate_jobs"]) == len(before["procrastinate_jobs"]) + 2
    [job_known], [job_unknown] = first["procrastinate_jobs"], second["procrastinate_jobs"]
    assert job_known["args"] == {"email": "maya@example.com"}
    assert job_unknown["args"] == {"email": "nobody@example.com"}
    differing = {"id", "args"}
    assert {k: v for k, v in job_known.items() if k not in differing} == {
        k: v for k, v in job_unknown.items() if k not in differing
    }

    await run_jobs()
    [email] = await reset_emails()
    assert email.to_address == "maya@example.com"
    assert email.status == "kept"
    async with db.service_session() as session:
        [stored] = (await session.exec(select(PasswordReset))).all()
    token = await link_token(email)
    assert token not in stored.token_hash  # only its digest is kept
    assert stored.expires_at - stored.created_at == timedelta(hours=1)
    # Neither job keeps the address it was given.
    jobs = await engine_jobs(password_reset.SEND_LINK)
    assert [(job.status, job.args) for job in jobs] == [("succeeded", {}), ("succeeded", {})]


async def test_malformed_email_is_refused(database: str) -> None:
    with pytest.raises(BadInput, match="doesn't look right"):
        await password_reset.request_reset("maya@")
    assert await reset_emails() == []


async def test_reset_sets_password_logs_out_everywhere_and_works_once(database: str) -> None:
    user, session_token = await sign_up()
    _, other_browser = await accounts.log_in("maya@example.com", STRONG, HERE)
    token = await ask()
    assert (await password_reset.check_link(token)).email == "maya@example.com"

    assert await password_reset.reset_password(token, NEW) == user.id
    assert await accounts.user_for_token(session_token) is None
    assert await accounts.user_for_token(other_browser) is None
    with pytest.raises(NotAllowed):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    await accounts.log_in("maya@example.com", NEW, HERE)

    with pytest.raises(NotAllowed, match="already used"):
        await password_reset.check_link(token)
    with pytest.raises(NotAllowed, match="already used"):
        await password_reset.reset_password(token, "Third-Horse-99")
    await accounts.log_in("maya@example.com", NEW, HERE)


async def test_weak_password_is_refused_and_the_link_still_works(database: str) -> None:
    await sign_up()
    token = await ask()
    with pytest.raises(BadInput, match="at least 10"):
        await password_reset.reset_password(token, "short1A!")
    with pytest.raises(BadInput, match="email address"):
        await password_reset.reset_password(token, "maya-Horse-1234")
    await accounts.log_in("maya@example.com", STRONG, HERE)  # unchanged
    await password_reset.reset_password(token, NEW)
    await accounts.log_in("maya@example.com", NEW, HERE)


async def test_tampered_or_unknown_link_is_refused(database: str) -> None:
    await sign_up()
    token = await ask()
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, "", "x" * 500, token + "x"):
        with pytest.raises(NotAllowed, match="not valid"):
            await password_reset.reset_password(bad, NEW)
    await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_expired_link_is_refused(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await sign_up()
    token = await ask()
    later = utcnow() + timedelta(minutes=61)
    monkeypatch.setattr(password_reset, "utcnow", lambda: later)
    with pytest.raises(NotAllowed, match="expired"):
        await password_reset.check_link(token)
    with pytest.raises(NotAllowed, match="expired"):
        await password_reset.reset_password(token, NEW)
    await accounts.log_in("maya@example.com", STRONG, HERE)

    almost = utcnow() + timedelta(minutes=59)
    monkeypatch.setattr(password_reset, "utcnow", lambda: almost)
    fresh = await ask()
    await password_reset.reset_password(fresh, NEW)


async def test_a_reset_voids_the_accounts_other_links(database: str) -> None:
    await sign_up()
    first = await ask()
    second = await ask()
    await password_reset.reset_password(second, NEW)
    with pytest.raises(NotAllowed, match="already used"):
        await password_reset.reset_password(first, "Third-Horse-99")


async def test_requests_are_limited_per_hour(database: str) -> None:
    await sign_up()
    answers = {await request("maya@example.com") for _ in range(5)}
    assert len(answers) == 1
    assert len(await reset_emails()) == password_reset.MAX_REQUESTS_PER_HOUR


async def test_disabled_account_gets_no_link(database: str) -> None:
    user, _ = await sign_up()
    token = await ask()
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == user.id).values(is_disabled=True))
    with pytest.raises(NotAllowed, match="not valid"):
        await password_reset.reset_password(token, NEW)
    await request("maya@example.com")
    assert len(await reset_emails()) == 1


async def test_supabase_installations_reset_through_supabase(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    get_settings.cache_clear()
    assert not password_reset.resets_here()
    with pytest.raises(NotAllowed, match="Supabase"):
        await password_reset.request_reset("maya@example.com")
    with pytest.raises(NotAllowed, match="Supabase"):
        await password_reset.check_link("anything")
    assert await reset_emails() == []
