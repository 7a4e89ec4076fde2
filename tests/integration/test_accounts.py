"""Sign-up, log-in, sessions and passwords against the real database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.models import AuthSession, LoginAttempt, PolicyAcceptance, PolicyVersion, User
from assetry.security import token_digest
from assetry.services import accounts

STRONG = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")


def signup(email: str = "maya@example.com", **overrides) -> accounts.SignUp:
    fields = {
        "email": email,
        "password": STRONG,
        "age_confirmed": True,
        "accepted_policies": True,
    } | overrides
    return accounts.SignUp(**fields)


async def count(model) -> int:
    async with db.service_session() as session:
        return await session.scalar(select(sa.func.count()).select_from(model))


async def test_sign_up_stores_hash_session_and_policy_acceptance(database: str) -> None:
    user, token = await accounts.sign_up(signup("  Maya@Example.COM "), HERE)
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
async def test_sign_up_refuses_bad_input_and_stores_nothing(
    database: str, overrides: dict, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        await accounts.sign_up(signup(**overrides), HERE)
    assert await count(User) == 0


async def test_duplicate_email_is_refused_kindly(database: str) -> None:
    await accounts.sign_up(signup(), HERE)
    with pytest.raises(BadInput, match="already exists"):
        await accounts.sign_up(signup("MAYA@example.com"), HERE)
    assert await count(User) == 1


async def test_wrong_password_and_unknown_email_get_the_same_message(database: str) -> None:
    await accounts.sign_up(signup(), HERE)
    with pytest.raises(NotAllowed) as wrong:
        await accounts.log_in("maya@example.com", "Wrong-Password-1", HERE)
    with pytest.raises(NotAllowed) as unknown:
        await accounts.log_in("nobody@example.com", "Wrong-Password-1", HERE)
    assert str(wrong.value) == str(unknown.value) == accounts.WRONG_CREDENTIALS


async def test_too_many_failures_lock_the_account_even_with_the_right_password(database: str) -> None:
    await accounts.sign_up(signup(), HERE)
    for _ in range(5):
        with pytest.raises(NotAllowed, match="don't match"):
            await accounts.log_in("maya@example.com", "Wrong-Password-1", HERE)
    with pytest.raises(NotAllowed, match="Too many failed attempts"):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    assert await count(LoginAttempt) == 5


async def test_failures_from_one_ip_across_accounts_are_throttled(database: str, monkeypatch) -> None:
    monkeypatch.setenv("LOGIN_IP_MAX_FAILURES", "3")
    from assetry.config import get_settings

    get_settings.cache_clear()
    for n in range(3):
        with pytest.raises(NotAllowed, match="don't match"):
            await accounts.log_in(f"guess{n}@example.com", "Wrong-Password-1", HERE)
    with pytest.raises(NotAllowed, match="Too many failed attempts"):
        await accounts.log_in("another@example.com", "Wrong-Password-1", HERE)
    other_ip = accounts.Client(ip="198.51.100.1")
    with pytest.raises(NotAllowed, match="don't match"):
        await accounts.log_in("another@example.com", "Wrong-Password-1", other_ip)


async def test_log_out_revokes_the_session(database: str) -> None:
    _, token = await accounts.sign_up(signup(), HERE)
    await accounts.log_out(token)
    assert await accounts.user_for_token(token) is None


async def test_expired_or_tampered_tokens_resolve_to_nobody(database: str) -> None:
    _user, token = await accounts.sign_up(signup(), HERE)
    assert await accounts.user_for_token(token + "x") is None
    assert await accounts.user_for_token("") is None
    assert await accounts.user_for_token("a" * 10_000) is None
    async with db.service_session() as session:
        await session.exec(sa.update(AuthSession).values(expires_at=sa.func.current_timestamp()))
    assert await accounts.user_for_token(token) is None


async def test_disabled_account_cannot_log_in_and_loses_its_sessions(database: str) -> None:
    _user, token = await accounts.sign_up(signup(), HERE)
    async with db.service_session() as session:
        await session.exec(sa.update(User).values(is_disabled=True))
    assert await accounts.user_for_token(token) is None
    with pytest.raises(NotAllowed, match="disabled"):
        await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_change_password_keeps_this_session_and_logs_out_others(database: str) -> None:
    user, here_token = await accounts.sign_up(signup(), HERE)
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
