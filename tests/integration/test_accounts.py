"""Sign-up, log-in, sessions and passwords against the real database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput, EmailNotConfirmed, NotAllowed
from assetry.models import (
    AuthSession,
    LoginAttempt,
    OutboxMessage,
    PolicyAcceptance,
    PolicyVersion,
    User,
    metadata,
)
from assetry.models.base import utcnow
from assetry.security import token_digest
from assetry.services import accounts, sign_up
from tests.account_setup import SignUp, create_account, run_sign_up_jobs, sign_up_link
from tests.jobs import engine_jobs

STRONG = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")
STRANGER = accounts.Client(ip="192.0.2.66", user_agent="curl/8.5")


def signup(email: str = "maya@example.com", **overrides) -> SignUp:
    fields = {
        "email": email,
        "password": STRONG,
        "age_confirmed": True,
        "accepted_policies": True,
    } | overrides
    return SignUp(**fields)


ENGINE_TABLES = ("procrastinate_jobs", "procrastinate_events")


async def stored_rows() -> dict[str, list[dict]]:
    """Every row of every table, the job engine's included."""
    async with db.service_session() as session:
        rows = {
            name: [dict(row._mapping) for row in (await session.exec(sa.select(table))).all()]
            for name, table in metadata.tables.items()
        }
        for name in ENGINE_TABLES:
            rows[name] = [
                dict(row._mapping) for row in (await session.exec(sa.text(f"SELECT * FROM {name}"))).all()
            ]
        return rows


def added(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The rows `after` holds that `before` did not, by table (tables with none left out)."""
    new = {name: [row for row in rows if row not in before[name]] for name, rows in after.items()}
    return {name: rows for name, rows in new.items() if rows}


async def outbox() -> list[tuple[str, str, str]]:
    """Every email (to, subject, text), oldest first."""
    async with db.service_session() as session:
        messages = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.created_at))).all()
    return [(m.to_address, m.subject, m.body_text) for m in messages]


async def count(model) -> int:
    async with db.service_session() as session:
        return await session.scalar(select(sa.func.count()).select_from(model))


async def test_sign_up_stores_hash_session_and_policy_acceptance(database: str) -> None:
    user, token = await create_account(signup("  Maya@Example.COM "), HERE)
    assert user.email == "maya@example.com"
    async with db.service_session() as session:
        stored = await session.get(User, user.id)
        assert stored.password_hash.startswith("$argon2id$")
        assert STRONG not in stored.password_hash
        sessions = (await session.exec(select(AuthSession))).all()
        assert [s.token_hash for s in sessions] == [token_digest(token)]  # never the token itself
        kinds = (
            await session.exec(
                select(PolicyVersion.kind)
                .join(PolicyAcceptance, PolicyAcceptance.policy_version_id == PolicyVersion.id)
                .where(PolicyAcceptance.user_id == user.id)
            )
        ).all()
    assert sorted(kinds) == ["privacy", "terms"]
    assert (await accounts.user_for_token(token)).id == user.id


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "doesn't look right"),
        ({"password": "short1A!"}, "at least 10"),
        ({"password": "password123"}, "too common"),
        ({"password": "alllowercaseletters"[:14]}, "Mix at least three"),
        ({"age_confirmed": False}, "at least 13"),
        ({"age_confirmed": False, "in_eu": True}, "at least 16"),
        ({"accepted_policies": False}, "accept the privacy policy"),
        ({"display_name": "x" * 81}, "limit is 80"),
    ],
)
async def test_sign_up_refuses_bad_input_at_once_and_stores_nothing(
    database: str, overrides: dict, message: str
) -> None:
    before = await stored_rows()
    with pytest.raises(BadInput, match=message):
        await sign_up.sign_up(signup(**overrides), HERE)
    assert await stored_rows() == before


async def test_known_and_unknown_addresses_get_the_same_answer_and_leave_the_same_trace(
    database: str,
) -> None:
    await create_account(signup(), HERE)
    before = await stored_rows()
    known = await sign_up.sign_up(signup("maya@example.com", password="Someone-Else-77"), HERE)
    after_known = await stored_rows()
    unknown = await sign_up.sign_up(signup("nobody@example.com"), HERE)
    after_unknown = await stored_rows()
    assert known.replace("maya", "X") == unknown.replace("nobody", "X")
    assert unknown.startswith("Check your email to finish signing up.")

    # By the time the answer comes back each request stored the same things: a job for the
    # worker and the IP's form submission (no account, no email, no audit entry).
    first, second = added(before, after_known), added(after_known, after_unknown)
    assert (
        sorted(first) == sorted(second) == ["form_submissions", "procrastinate_events", "procrastinate_jobs"]
    )
    [job_known], [job_unknown] = first["procrastinate_jobs"], second["procrastinate_jobs"]
    assert job_known["args"].keys() == job_unknown["args"].keys()
    differing = {"id", "args"}
    assert {k: v for k, v in job_known.items() if k not in differing} == {
        k: v for k, v in job_unknown.items() if k not in differing
    }
    [event_known], [event_unknown] = first["procrastinate_events"], second["procrastinate_events"]
    assert event_known["type"] == event_unknown["type"] == "deferred"
    [form_known], [form_unknown] = first["form_submissions"], second["form_submissions"]
    assert (form_known["form"], form_known["ip"]) == (form_unknown["form"], form_unknown["ip"])

    await run_sign_up_jobs()
    mails = await outbox()
    # The owner of the known address is told, with a way to log in or reset; nothing else changes.
    assert [m[1] for m in mails if m[0] == "maya@example.com"] == [
        "Finish signing up to Assetry",
        "Welcome to Assetry",
        "Someone tried to sign up with your email",
    ]
    [body] = [m[2] for m in mails if m[1] == "Someone tried to sign up with your email"]
    assert "http://localhost:3000/login" in body and "http://localhost:3000/reset" in body
    await accounts.log_in("maya@example.com", STRONG, HERE)
    with pytest.raises(NotAllowed, match="don't match"):
        await accounts.log_in("maya@example.com", "Someone-Else-77", HERE)
    # The unknown address gets its link; the account waits for it.
    assert [m[1] for m in mails if m[0] == "nobody@example.com"] == ["Finish signing up to Assetry"]
    async with db.service_session() as session:
        waiting = (await session.exec(select(User).where(User.email == "nobody@example.com"))).one()
    jobs = await engine_jobs(sign_up.SEND_LINK)
    assert [job.args for job in jobs] == [{}, {}, {}]  # no address or password hash is kept
    assert waiting.email_confirmed_at is None


async def test_the_emailed_link_confirms_the_account_once_and_signs_in(database: str) -> None:
    await sign_up.sign_up(signup(), HERE)
    await run_sign_up_jobs()
    token = await sign_up_link("maya@example.com")
    async with db.service_session() as session:
        waiting = (await session.exec(select(User))).one()
    assert waiting.email_token_hash == token_digest(token)  # only its digest is kept
    assert waiting.email_token_expires_at - utcnow() > timedelta(hours=23)

    # Until the link is opened the right password says so; a wrong one says nothing more.
    with pytest.raises(EmailNotConfirmed, match="Confirm your email first — we sent you a link"):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    with pytest.raises(NotAllowed) as wrong:
        await accounts.log_in("maya@example.com", "Wrong-Password-1", HERE)
    assert str(wrong.value) == accounts.WRONG_CREDENTIALS

    session_token = await sign_up.confirm(token, HERE)
    assert (await accounts.user_for_token(session_token)).email == "maya@example.com"
    with pytest.raises(NotAllowed, match="not valid"):
        await sign_up.confirm(token, HERE)
    await accounts.log_in("maya@example.com", STRONG, HERE)
    assert [m[1] for m in await outbox()] == ["Finish signing up to Assetry", "Welcome to Assetry"]


async def test_an_expired_or_unknown_link_is_refused(database: str) -> None:
    await sign_up.sign_up(signup(), HERE)
    await run_sign_up_jobs()
    token = await sign_up_link("maya@example.com")
    async with db.service_session() as session:
        await session.exec(sa.update(User).values(email_token_expires_at=utcnow()))
    with pytest.raises(NotAllowed, match="expired"):
        await sign_up.confirm(token, HERE)
    for forged in ("", token + "x", "a" * 500):
        with pytest.raises(NotAllowed, match="not valid"):
            await sign_up.confirm(forged, HERE)
    with pytest.raises(EmailNotConfirmed):
        await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_a_new_sign_up_replaces_a_waiting_one_and_voids_its_link(database: str) -> None:
    await sign_up.sign_up(signup(), HERE)
    await run_sign_up_jobs()
    first = await sign_up_link("maya@example.com")
    await sign_up.sign_up(signup(password="Second-Horse-88", display_name="Maya"), HERE)
    await run_sign_up_jobs()
    second = await sign_up_link("maya@example.com")
    assert first != second
    with pytest.raises(NotAllowed, match="newer one was sent"):
        await sign_up.confirm(first, HERE)
    await sign_up.confirm(second, HERE)
    user, _ = await accounts.log_in("maya@example.com", "Second-Horse-88", HERE)
    assert user.display_name == "Maya"
    assert await count(User) == 1


async def test_the_link_can_be_sent_again(database: str) -> None:
    await sign_up.sign_up(signup(), HERE)
    await run_sign_up_jobs()
    first = await sign_up_link("maya@example.com")
    answer = await sign_up.resend_link("maya@example.com", HERE)
    assert answer == "We sent a new link to maya@example.com. It works for 24 hours."
    await run_sign_up_jobs()
    second = await sign_up_link("maya@example.com")
    assert first != second
    with pytest.raises(NotAllowed):
        await sign_up.confirm(first, HERE)
    await sign_up.confirm(second, HERE)
    # A confirmed account gets no more links.
    await sign_up.resend_link("maya@example.com", HERE)
    await run_sign_up_jobs()
    assert await sign_up_link("maya@example.com") == second


async def test_unconfirmed_accounts_are_purged_seven_days_after_their_link(database: str) -> None:
    await create_account(signup("kept@example.com"), HERE)
    await sign_up.sign_up(signup(), HERE)
    await run_sign_up_jobs()
    sent_at = utcnow()

    async def link_sent(days_ago: float) -> None:
        async with db.service_session() as session:
            await session.exec(
                sa.update(User)
                .where(User.email == "maya@example.com")
                .values(email_token_expires_at=sent_at - timedelta(days=days_ago) + sign_up.LINK_TTL)
            )

    await link_sent(6.9)
    assert await sign_up.purge_unconfirmed() == 0
    await link_sent(7)
    assert await sign_up.purge_unconfirmed() == 1
    async with db.service_session() as session:
        assert (await session.exec(select(User.email))).all() == ["kept@example.com"]
        assert await session.scalar(select(sa.func.count()).select_from(PolicyAcceptance)) == 2
    # The address is free again.
    await create_account(signup(), HERE)


async def test_sign_up_is_throttled_per_ip(database: str, monkeypatch) -> None:
    monkeypatch.setenv("FORM_IP_MAX_PER_HOUR", "2")
    get_settings.cache_clear()
    for n in range(2):
        await sign_up.sign_up(signup(f"fan{n}@example.com"), HERE)
    with pytest.raises(NotAllowed, match="Too many requests from your network"):
        await sign_up.sign_up(signup("fan2@example.com"), HERE)
    # Another network is not slowed down, and bad input still gets its own message first.
    await sign_up.sign_up(signup("fan2@example.com"), accounts.Client(ip="198.51.100.1"))
    with pytest.raises(BadInput, match="at least 10"):
        await sign_up.sign_up(signup("fan3@example.com", password="short1A!"), HERE)


async def test_wrong_password_and_unknown_email_get_the_same_message(database: str) -> None:
    await create_account(signup(), HERE)
    with pytest.raises(NotAllowed) as wrong:
        await accounts.log_in("maya@example.com", "Wrong-Password-1", HERE)
    with pytest.raises(NotAllowed) as unknown:
        await accounts.log_in("nobody@example.com", "Wrong-Password-1", HERE)
    assert str(wrong.value) == str(unknown.value) == accounts.WRONG_CREDENTIALS


async def fail(email: str, client: accounts.Client, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(NotAllowed, match="don't match"):
            await accounts.log_in(email, "Wrong-Password-1", client)


async def wait(seconds: float) -> None:
    """Let time pass for the throttle: every recorded attempt moves that far into the past."""
    async with db.service_session() as session:
        for attempt in (await session.exec(select(LoginAttempt))).all():
            attempt.created_at -= timedelta(seconds=seconds)


async def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(database: str) -> None:
    await create_account(signup(), HERE)
    await fail("maya@example.com", STRANGER, times=5)
    # The stranger's network waits, even with the right password...
    with pytest.raises(NotAllowed, match=r"Too many failed attempts\. Wait 1 minute and try again"):
        await accounts.log_in("maya@example.com", STRONG, STRANGER)
    # ...while the owner, elsewhere, logs in at once.
    user, token = await accounts.log_in("maya@example.com", STRONG, HERE)
    assert (await accounts.user_for_token(token)).id == user.id
    assert await count(LoginAttempt) == 6


async def test_the_wait_grows_with_each_further_wrong_password(database: str) -> None:
    await create_account(signup(), HERE)
    await fail("maya@example.com", STRANGER, times=5)
    waits = []
    for _ in range(5):
        with pytest.raises(NotAllowed, match="Too many failed attempts") as refused:
            await accounts.log_in("maya@example.com", STRONG, STRANGER)
        waits.append(int(re.search(r"Wait (\d+) minutes?", str(refused.value)).group(1)))
        await wait(waits[-1] * 60)
        await fail("maya@example.com", STRANGER)  # one more wrong password once the wait is over
    # 1 minute, doubling, never past LOGIN_WINDOW_MINUTES (15).
    assert waits == [1, 2, 4, 8, 15]


async def test_a_log_in_from_a_place_clears_its_failures(database: str) -> None:
    await create_account(signup(), HERE)
    await fail("maya@example.com", HERE, times=4)
    await accounts.log_in("maya@example.com", STRONG, HERE)
    await fail("maya@example.com", HERE, times=4)
    await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_failures_from_one_ip_across_accounts_are_throttled(database: str, monkeypatch) -> None:
    monkeypatch.setenv("LOGIN_IP_MAX_FAILURES", "3")
    get_settings.cache_clear()
    await create_account(signup(), HERE)
    for n in range(3):
        await fail(f"guess{n}@example.com", STRANGER)
    with pytest.raises(NotAllowed, match="Too many failed attempts"):
        await accounts.log_in("another@example.com", "Wrong-Password-1", STRANGER)
    with pytest.raises(NotAllowed, match="Too many failed attempts"):
        await accounts.log_in("maya@example.com", STRONG, STRANGER)
    # Other networks are not slowed down, the owner's included.
    await fail("another@example.com", accounts.Client(ip="198.51.100.1"))
    await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_log_out_revokes_the_session(database: str) -> None:
    _, token = await create_account(signup(), HERE)
    await accounts.log_out(token)
    assert await accounts.user_for_token(token) is None


async def test_expired_or_tampered_tokens_resolve_to_nobody(database: str) -> None:
    _user, token = await create_account(signup(), HERE)
    assert await accounts.user_for_token(token + "x") is None
    assert await accounts.user_for_token("") is None
    assert await accounts.user_for_token("a" * 10_000) is None
    async with db.service_session() as session:
        await session.exec(sa.update(AuthSession).values(expires_at=sa.func.current_timestamp()))
    assert await accounts.user_for_token(token) is None


async def test_disabled_account_cannot_log_in_and_loses_its_sessions(database: str) -> None:
    _user, token = await create_account(signup(), HERE)
    async with db.service_session() as session:
        await session.exec(sa.update(User).values(is_disabled=True))
    assert await accounts.user_for_token(token) is None
    with pytest.raises(NotAllowed, match="disabled"):
        await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_change_password_keeps_this_session_and_logs_out_others(database: str) -> None:
    user, here_token = await create_account(signup(), HERE)
    _, there_token = await accounts.log_in("maya@example.com", STRONG, HERE)
    with pytest.raises(BadInput, match="current password is not right"):
        await accounts.change_password(user.id, "nope", "Another-Strong-9", keep_token=here_token)
    with pytest.raises(BadInput, match="stronger"):
        await accounts.change_password(user.id, STRONG, "weak", keep_token=here_token)
    await accounts.change_password(user.id, STRONG, "Another-Strong-9", keep_token=here_token)
    assert (await accounts.user_for_token(here_token)).id == user.id
    assert await accounts.user_for_token(there_token) is None
    with pytest.raises(NotAllowed):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    assert (await accounts.log_in("maya@example.com", "Another-Strong-9", HERE))[0].id == user.id
