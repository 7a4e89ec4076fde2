"""Accounts on Supabase Auth: the real supabase-py client against the local imitation over HTTP.

The imitation (assetry/sandbox/supabase_auth.py) runs under uvicorn on 127.0.0.1; the
account service runs on the test database (the `database` fixture).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest
import sqlalchemy as sa
from sqlmodel import select
from supabase import AsyncClientOptions, acreate_client

from assetry import cli, db
from assetry.config import get_settings
from assetry.errors import BadInput, EmailNotConfirmed, NotAllowed, ProviderError, RateLimited
from assetry.integrations.supabase_auth import SupabaseAuth
from assetry.models import AuthSession, LoginAttempt, OutboxMessage, PolicyAcceptance, User
from assetry.sandbox.supabase_auth import SupabaseAuthImitation
from assetry.services import accounts, privacy, sign_up
from assetry.services.sign_up import SignUp
from assetry.services.supabase_credentials import SupabaseCredentials
from tests.account_setup import run_sign_up_jobs
from tests.asgi_server import serve
from tests.jobs import engine_jobs, run_jobs

STRONG = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")
LOWER, UPPER, DIGITS = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
SYMBOLS = "!@#$%^&*()_+-=[]{};':\"|<>?,./`~"


@dataclass
class Running:
    """The imitation and the address it answers on."""

    auth: SupabaseAuthImitation
    url: str


@pytest.fixture
def supabase() -> Iterator[Running]:
    """A fresh imitation served by uvicorn on a free 127.0.0.1 port."""
    imitation = SupabaseAuthImitation(refresh_reuse_interval=0)
    with serve(imitation.app) as url:
        yield Running(imitation, url)


@pytest.fixture
def on_supabase(database: str, supabase: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    """The account service configured for Supabase Auth at the imitation, on a fresh database."""
    monkeypatch.setenv("SUPABASE_URL", supabase.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase.auth.anon_key)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", supabase.auth.service_role_key)
    get_settings.cache_clear()
    assert get_settings().auth_mode.value == "configured"
    supabase.auth.autoconfirm = False  # email confirmations on, as Supabase projects start
    return supabase


def signup(email: str = "maya@example.com", **overrides) -> SignUp:
    fields = {"email": email, "password": STRONG, "age_confirmed": True, "accepted_policies": True}
    return SignUp(**(fields | overrides))


async def supabase_account(running: Running, form: SignUp | None = None) -> tuple[User, str]:
    """Sign up, open Supabase's link (the imitation stands in for the click), log in."""
    form = form or signup()
    await sign_up.sign_up(form, HERE)
    await run_sign_up_jobs()
    running.auth.confirm_email(form.email.strip().lower())
    return await accounts.log_in(form.email, form.password, HERE)


async def count(model) -> int:
    async with db.service_session() as session:
        return await session.scalar(select(sa.func.count()).select_from(model))


async def stored_user(email: str) -> User | None:
    async with db.service_session() as session:
        return (await session.exec(select(User).where(User.email == email))).first()


# ----- the account service on Supabase Auth (both databases) ------------------------


async def test_sign_up_waits_for_supabases_link_and_keeps_no_hash(on_supabase: Running) -> None:
    answer = await sign_up.sign_up(signup("  Maya@Example.COM "), HERE)
    assert answer.startswith("Check your email to finish signing up.")
    remote = on_supabase.auth.user_by_email("maya@example.com")
    assert remote is not None and remote.email_confirmed_at is None  # Supabase sent its link
    await run_sign_up_jobs()
    row = await stored_user("maya@example.com")
    assert (row.password_hash, row.external_id, row.auth_backend) == (None, remote.id, "supabase")
    assert row.email_confirmed_at is None
    assert await count(PolicyAcceptance) == 2
    assert await count(AuthSession) == 0
    # Until the link is opened the right password says so; a wrong one is just wrong.
    with pytest.raises(EmailNotConfirmed, match="Confirm your email first — we sent you a link"):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    with pytest.raises(NotAllowed, match="don't match"):
        await accounts.log_in("maya@example.com", "Wrong-Password-1", HERE)
    assert await count(AuthSession) == 0
    assert await sign_up.resend_link("maya@example.com", HERE) == sign_up.RESENT.format(
        email="maya@example.com"
    )
    assert ("POST", "/auth/v1/resend") in on_supabase.auth.requests

    on_supabase.auth.confirm_email("maya@example.com")
    user, token = await accounts.log_in("maya@example.com", STRONG, HERE)
    assert (await accounts.user_for_token(token)).id == user.id == row.id
    assert (await stored_user("maya@example.com")).email_confirmed_at is not None
    async with db.service_session() as session:
        subjects = (await session.exec(select(OutboxMessage.subject))).all()
    assert subjects == ["Welcome to Assetry"]  # the link itself came from Supabase
    # Supabase checked the password; its own session was ended, ours is the only one.
    assert on_supabase.auth.sessions == {}


async def test_log_in_log_out_and_change_password(on_supabase: Running) -> None:
    user, here = await supabase_account(on_supabase)
    logged_in, there = await accounts.log_in("maya@example.com", STRONG, HERE)
    assert logged_in.id == user.id
    await accounts.change_password(user.id, STRONG, "Another-Strong-9", keep_token=here)
    assert (await accounts.user_for_token(here)).id == user.id
    assert await accounts.user_for_token(there) is None
    with pytest.raises(NotAllowed, match="don't match"):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    _, fresh = await accounts.log_in("maya@example.com", "Another-Strong-9", HERE)
    assert (await stored_user("maya@example.com")).password_hash is None
    await accounts.log_out(fresh)
    assert await accounts.user_for_token(fresh) is None
    assert on_supabase.auth.sessions == {}


async def test_change_password_with_a_wrong_current_password_changes_nothing(on_supabase: Running) -> None:
    user, here = await supabase_account(on_supabase)
    with pytest.raises(BadInput, match="current password is not right"):
        await accounts.change_password(user.id, "Not-The-One-1", "Another-Strong-9", keep_token=here)
    assert (await accounts.log_in("maya@example.com", STRONG, HERE))[0].id == user.id


async def test_wrong_password_and_unknown_email_get_the_same_message(on_supabase: Running) -> None:
    await supabase_account(on_supabase)
    with pytest.raises(NotAllowed) as wrong:
        await accounts.log_in("maya@example.com", "Wrong-Password-1", HERE)
    with pytest.raises(NotAllowed) as unknown:
        await accounts.log_in("nobody@example.com", "Wrong-Password-1", HERE)
    assert str(wrong.value) == str(unknown.value) == accounts.WRONG_CREDENTIALS
    async with db.service_session() as session:
        attempts = (
            await session.exec(select(LoginAttempt.succeeded).order_by(LoginAttempt.created_at))
        ).all()
    assert attempts == [True, False, False]


async def test_a_known_address_gets_the_same_answer_and_its_owner_an_email(on_supabase: Running) -> None:
    await supabase_account(on_supabase)
    new = await sign_up.sign_up(signup("nobody@example.com"), HERE)
    # Supabase answers a confirmed address with a look-alike user, not an error.
    known = await sign_up.sign_up(signup("MAYA@example.com", password="Someone-Else-7"), HERE)
    assert known.replace("maya", "X") == new.replace("nobody", "X")
    await run_sign_up_jobs()
    assert await count(User) == 2
    assert len(on_supabase.auth.users) == 2
    async with db.service_session() as session:
        mails = (await session.exec(select(OutboxMessage.to_address, OutboxMessage.subject))).all()
    assert ("maya@example.com", "Someone tried to sign up with your email") in mails
    assert [m for m in mails if m[0] == "nobody@example.com"] == []  # Supabase sends that link
    await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_an_address_known_only_to_supabase_gets_the_same_answer_and_no_account(
    on_supabase: Running,
) -> None:
    # A project shared with another app: Supabase has the user (confirmed), our database does not.
    on_supabase.auth.autoconfirm = True
    await SupabaseAuth(on_supabase.url, on_supabase.auth.anon_key).sign_up("maya@example.com", STRONG)
    on_supabase.auth.autoconfirm = False
    answer = await sign_up.sign_up(signup(password="Someone-Else-7"), HERE)
    assert answer.startswith("Check your email to finish signing up.")
    await run_sign_up_jobs()
    assert await count(User) == 0
    with pytest.raises(NotAllowed, match="don't match"):
        await accounts.log_in("maya@example.com", STRONG, HERE)


@pytest.mark.parametrize(
    ("rules", "password", "message"),
    [
        ({"required_characters": (LOWER, UPPER, DIGITS, SYMBOLS)}, "CorrectHorse42", "one character of each"),
        ({"pwned_passwords": frozenset({STRONG})}, STRONG, "known to be weak"),
        ({"password_min_length": 20}, STRONG, "at least 20 characters"),
        ({}, "Aa1-" + "x" * 76, "longer than 72 characters"),
    ],
)
async def test_passwords_supabase_rejects_get_its_reason_and_store_nothing(
    on_supabase: Running, rules: dict, password: str, message: str
) -> None:
    for name, value in rules.items():
        setattr(on_supabase.auth, name, value)
    with pytest.raises(BadInput, match=message) as refused:
        await sign_up.sign_up(signup(password=password), HERE)
    assert "Supabase" not in str(refused.value)
    assert await count(User) == 0
    assert on_supabase.auth.users == {}


async def test_new_password_supabase_rejects_leaves_the_old_one_working(on_supabase: Running) -> None:
    user, here = await supabase_account(on_supabase)
    on_supabase.auth.pwned_passwords = frozenset({"Leaked-Password-1"})
    with pytest.raises(BadInput, match="known to be weak"):
        await accounts.change_password(user.id, STRONG, "Leaked-Password-1", keep_token=here)
    assert (await accounts.log_in("maya@example.com", STRONG, HERE))[0].id == user.id


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 503}, {"malformed": True}],
    ids=["500", "503", "malformed"],
)
async def test_provider_failure_on_sign_up_is_clear_and_stores_nothing(
    on_supabase: Running, fault: dict
) -> None:
    for name, value in fault.items():
        setattr(on_supabase.auth.faults, name, value)
    with pytest.raises(ProviderError, match="try again in a minute"):
        await sign_up.sign_up(signup(), HERE)
    await run_sign_up_jobs()
    assert await count(User) == 0
    assert await count(PolicyAcceptance) == 0


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 502}, {"malformed": True}],
    ids=["500", "502", "malformed"],
)
async def test_provider_failure_on_log_in_is_clear_and_stores_nothing(
    on_supabase: Running, fault: dict
) -> None:
    await supabase_account(on_supabase)
    for name, value in fault.items():
        setattr(on_supabase.auth.faults, name, value)
    on_supabase.auth.faults.only = "/token"
    with pytest.raises(ProviderError, match="try again in a minute"):
        await accounts.log_in("maya@example.com", STRONG, HERE)
    assert await count(AuthSession) == 1  # only the first log-in's
    assert await count(LoginAttempt) == 1  # a provider failure is not a failed guess


async def test_rate_limit_and_unreachable_provider(on_supabase: Running, monkeypatch) -> None:
    on_supabase.auth.faults.status = 429
    with pytest.raises(RateLimited, match="Wait a minute"):
        await sign_up.sign_up(signup(), HERE)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    monkeypatch.setenv("SUPABASE_URL", nowhere)
    get_settings.cache_clear()
    with pytest.raises(ProviderError, match="not answering"):
        await sign_up.sign_up(signup(), HERE)
    assert await count(User) == 0


async def test_deleting_the_account_deletes_the_supabase_user(on_supabase: Running) -> None:
    user, _ = await supabase_account(on_supabase)
    backend = SupabaseCredentials(get_settings())
    await backend.delete(user)
    assert on_supabase.auth.users == {}
    await backend.delete(user)  # already gone counts as done
    with pytest.raises(NotAllowed, match="don't match"):
        await accounts.log_in("maya@example.com", STRONG, HERE)


async def test_the_purge_after_a_deletion_deletes_the_supabase_user(
    on_supabase: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole path: delete in settings, the purge job runs, the auth user at Supabase is gone."""
    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()
    user, _ = await supabase_account(on_supabase)
    theo, _ = await supabase_account(on_supabase, signup("theo@example.com"))
    assert len(on_supabase.auth.users) == 2

    await privacy.request_deletion(user.id, STRONG)
    assert len(on_supabase.auth.users) == 2  # closed at once; the purge job deletes
    await run_jobs()

    assert [job.status for job in await engine_jobs(privacy.PURGE_KIND)] == ["succeeded"]
    assert [u.email for u in on_supabase.auth.users.values()] == ["theo@example.com"]
    assert on_supabase.auth.user_by_email("maya@example.com") is None
    async with db.service_session() as session:
        assert await session.get(User, user.id) is None
        assert await session.get(User, theo.id) is not None


async def test_deleting_without_the_service_role_key_says_what_is_missing(
    on_supabase: Running, monkeypatch
) -> None:
    user, _ = await supabase_account(on_supabase)
    monkeypatch.delenv("SUPABASE_SERVICE_ROLE_KEY")
    get_settings.cache_clear()
    with pytest.raises(ProviderError, match="SUPABASE_SERVICE_ROLE_KEY"):
        await SupabaseCredentials(get_settings()).delete(user)
    assert len(on_supabase.auth.users) == 1


async def test_doctor_reports_supabase_auth_healthy(on_supabase: Running, capsys, monkeypatch) -> None:
    assert await cli.doctor() == 0
    auth_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("auth"))
    assert auth_line.split()[1:3] == ["configured", "ok"]
    monkeypatch.setenv("SUPABASE_ANON_KEY", "not-the-key")
    get_settings.cache_clear()
    assert await cli.doctor() == 1
    assert "refused SUPABASE_ANON_KEY" in capsys.readouterr().out


# ----- the integration and the wire itself (no database) ----------------------------


async def test_slow_answers_time_out_into_a_provider_error(supabase: Running) -> None:
    supabase.auth.faults.delay = 6.0
    slow = SupabaseAuth(supabase.url, supabase.auth.anon_key, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderError, match="not answering"):
        await slow.sign_in("maya@example.com", STRONG)
    # Given up long before the answer would come (a busy machine may take a while to say so).
    assert time.monotonic() - started < 4


async def test_the_gateway_wants_an_api_key(supabase: Running) -> None:
    async with httpx.AsyncClient(base_url=f"{supabase.url}/auth/v1") as http:
        missing = await http.get("/health")
        wrong = await http.get("/health", headers={"apikey": "guess"})
        right = await http.get("/health", params={"apikey": supabase.auth.anon_key})
    assert (missing.status_code, missing.json()["message"]) == (401, "No API key found in request")
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Invalid API key")
    assert right.status_code == 200 and right.json()["name"] == "GoTrue"


async def test_error_shapes_follow_the_requested_api_version(supabase: Running) -> None:
    async with httpx.AsyncClient(
        base_url=f"{supabase.url}/auth/v1", headers={"apikey": supabase.auth.anon_key}
    ) as http:
        body = {"email": "maya@example.com", "password": "Wrong-Password-1"}
        legacy = await http.post("/token", params={"grant_type": "password"}, json=body)
        dated = await http.post(
            "/token",
            params={"grant_type": "password"},
            json=body,
            headers={"X-Supabase-Api-Version": "2024-01-01"},
        )
        weak = await http.post("/signup", json={"email": "maya@example.com", "password": "short"})
        taken = [
            await http.post("/signup", json={"email": "sam@example.com", "password": STRONG})
            for _ in range(2)
        ]
        garbage = await http.post(
            "/signup", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert legacy.status_code == 400
    assert legacy.json() == {
        "code": 400,
        "error_code": "invalid_credentials",
        "msg": "Invalid login credentials",
    }
    assert dated.status_code == 400
    assert dated.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert dated.headers["x-supabase-api-version"] == "2024-01-01"
    assert weak.status_code == 422
    assert weak.json() == {
        "code": 422,
        "error_code": "weak_password",
        "msg": "Password should be at least 6 characters.",
        "weak_password": {"reasons": ["length"]},
    }
    assert taken[0].status_code == 200
    assert (taken[1].status_code, taken[1].json()["error_code"]) == (422, "user_already_exists")
    assert (garbage.status_code, garbage.json()["error_code"]) == (400, "bad_json")


async def test_sessions_are_real_jwts_and_refresh_tokens_rotate(supabase: Running) -> None:
    options = AsyncClientOptions(auto_refresh_token=False, persist_session=False, flow_type="implicit")
    client = await acreate_client(supabase.url, supabase.auth.anon_key, options=options)
    reply = await client.auth.sign_up({"email": "maya@example.com", "password": STRONG})
    session = reply.session
    assert session.token_type == "bearer" and session.expires_in == 3600
    assert session.expires_at == pytest.approx(time.time() + 3600, abs=5)
    assert session.user.email == "maya@example.com" and session.user.aud == "authenticated"
    claims = jwt.decode(
        session.access_token, supabase.auth.jwt_secret, algorithms=["HS256"], audience="authenticated"
    )
    assert claims["sub"] == session.user.id and claims["role"] == "authenticated"
    assert claims["session_id"] in supabase.auth.sessions
    assert (await client.auth.get_user(session.access_token)).user.id == session.user.id

    refreshed = (await client.auth.refresh_session(session.refresh_token)).session
    assert refreshed.refresh_token != session.refresh_token
    async with httpx.AsyncClient(
        base_url=f"{supabase.url}/auth/v1", headers={"apikey": supabase.auth.anon_key}
    ) as http:
        reuse = await http.post(
            "/token", params={"grant_type": "refresh_token"}, json={"refresh_token": session.refresh_token}
        )
        # Reusing a spent token ends the whole session: the newest token is dead too.
        after = await http.post(
            "/token", params={"grant_type": "refresh_token"}, json={"refresh_token": refreshed.refresh_token}
        )
        stale = await http.get("/user", headers={"Authorization": f"Bearer {refreshed.access_token}"})
        forged = await http.get("/user", headers={"Authorization": "Bearer not.a.jwt"})
        anon = await http.get("/user", headers={"Authorization": f"Bearer {supabase.auth.anon_key}"})
        none = await http.get("/user")
    assert (reuse.status_code, reuse.json()["error_code"]) == (400, "refresh_token_already_used")
    assert (after.status_code, after.json()["error_code"]) == (400, "refresh_token_not_found")
    assert (stale.status_code, stale.json()["error_code"]) == (403, "session_not_found")
    assert (forged.status_code, forged.json()["error_code"]) == (403, "bad_jwt")
    assert forged.json()["msg"].startswith("invalid JWT: unable to parse or verify signature")
    assert (anon.status_code, anon.json()["msg"]) == (403, "invalid claim: missing sub claim")
    assert (none.status_code, none.json()["error_code"]) == (401, "no_authorization")


async def test_only_the_service_role_may_delete_users(supabase: Running) -> None:
    auth = SupabaseAuth(supabase.url, supabase.auth.anon_key, supabase.auth.anon_key)
    created = await auth.sign_up("maya@example.com", STRONG)
    with pytest.raises(ProviderError):
        await auth.delete_user(created.user_id)
    assert created.user_id in supabase.auth.users
    await SupabaseAuth(supabase.url, supabase.auth.anon_key, supabase.auth.service_role_key).delete_user(
        created.user_id
    )
    assert supabase.auth.users == {}
    assert await auth.sign_in("maya@example.com", STRONG) is None


async def test_logout_scopes_end_the_right_sessions(supabase: Running) -> None:
    async with httpx.AsyncClient(
        base_url=f"{supabase.url}/auth/v1", headers={"apikey": supabase.auth.anon_key}
    ) as http:
        await http.post("/signup", json={"email": "maya@example.com", "password": STRONG})
        tokens = []
        for _ in range(3):
            reply = await http.post(
                "/token",
                params={"grant_type": "password"},
                json={"email": "maya@example.com", "password": STRONG},
            )
            tokens.append(reply.json()["access_token"])
        bearer = {"Authorization": f"Bearer {tokens[0]}"}
        others = await http.post("/logout", params={"scope": "others"}, headers=bearer)
        assert others.status_code == 204
        assert len(supabase.auth.sessions) == 1
        bad = await http.post("/logout", params={"scope": "everyone"}, headers=bearer)
        assert (bad.status_code, bad.json()["error_code"]) == (400, "validation_failed")
        assert (await http.post("/logout", headers=bearer)).status_code == 204
    assert supabase.auth.sessions == {}
