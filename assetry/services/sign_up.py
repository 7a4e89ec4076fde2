"""Sign-up by emailed link: the answer never tells whether an address already has an account.

The form's request checks the input, hashes the password and queues one job (`SEND_LINK`)
for any well-formed address, then answers `ANSWER`: the same words, the same work and the
same rows (that job and a `FormSubmission`) whoever the address belongs to. Each IP may send
`FORM_IP_MAX_PER_HOUR` sign-ups an hour. The worker then looks the address up:

- no account: it creates one, unconfirmed (`users.email_confirmed_at` NULL), and emails a link
  with a random token (256 bits; only its SHA-256 is kept, in `users.email_token_hash`, as for
  an email change). The link works once, for `LINK_TTL`; opening it confirms the account and
  signs that browser in (`confirm`).
- an unconfirmed account: the newest sign-up replaces the waiting one (password, name,
  choices) and gets a fresh link; earlier links stop working, as with Supabase Auth.
- a confirmed account: its owner gets an email saying someone tried to sign up with the
  address, with links to log in and to reset the password. Nothing else changes.

An unconfirmed account cannot log in (`EmailNotConfirmed`; `resend_link` sends a new link)
and is purged `UNCONFIRMED_DAYS` days after its latest link was sent.

With Supabase Auth, Supabase keeps the password and confirms the address: the request asks
Supabase to sign the address up (Supabase emails its own link, or, for a confirmed address,
answers with a look-alike user and sends nothing), and the job creates our unconfirmed row for
a new address or emails the owner of a known one. The first log-in Supabase accepts confirms
our row (`accounts.log_in`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from assetry import db, security
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.jobs import queue
from assetry.jobs.task import Context
from assetry.models import User
from assetry.models.base import utcnow
from assetry.services import accounts, audit, form_limits, mail, policies, privacy
from assetry.services.credentials import credentials
from assetry.services.validation import clean_email, clean_text, password_problem

SEND_LINK = "sign_up.send_link"
RESEND_LINK = "sign_up.resend_link"
PURGE_UNCONFIRMED = "sign_up.purge_unconfirmed"
LINK_TTL = timedelta(hours=24)
UNCONFIRMED_DAYS = 7
ANSWER = (
    "Check your email to finish signing up. We sent a message to {email}: open the link in it "
    "within 24 hours. Check your spam folder if it doesn't arrive."
)
RESENT = "We sent a new link to {email}. It works for 24 hours."
LINK_UNKNOWN = (
    "This sign-up link is not valid: it was already used, or a newer one was sent. "
    "Log in, or sign up again for a new link."
)
LINK_EXPIRED = "This sign-up link has expired (they work for 24 hours). Sign up again for a new one."


@dataclass(frozen=True)
class SignUp:
    """What the sign-up form collects."""

    email: str
    password: str
    display_name: str = ""
    age_confirmed: bool = False
    in_eu: bool = False
    accepted_policies: bool = False


async def sign_up(form: SignUp, client: accounts.Client) -> str:
    """Check the form and queue the sign-up email; returns the answer to show (the same for every address).

    Bad input raises BadInput at once; too many sign-ups from this IP raise NotAllowed.
    """
    email = clean_email(form.email)
    display_name = clean_text(form.display_name, field="display name", max_length=80, required=False)
    if problem := password_problem(form.password, email):
        raise BadInput(f"Choose a stronger password. {problem}")
    if not form.age_confirmed:
        minimum = 16 if form.in_eu else 13
        raise BadInput(f"Please confirm you are at least {minimum} years old.")
    if not form.accepted_policies:
        raise BadInput("Please accept the privacy policy and the terms to create an account.")
    backend = credentials()
    async with db.service_session() as session:
        await form_limits.count_submission(session, form_limits.SIGN_UP, client.ip)
        stored = await backend.register(email, form.password)
        payload = {
            "email": email,
            "display_name": display_name,  # no name given: greeted without one, never by the address
            "in_eu": bool(form.in_eu),
            "backend": backend.backend,
            "password_hash": stored.password_hash,
            "external_id": stored.external_id,
        }
        await queue.enqueue(session, SEND_LINK, payload)
    return ANSWER.format(email=email)


async def run_send_link(ctx: Context) -> dict:
    """Create the unconfirmed account and email its link, or tell a known address's owner."""
    request = dict(ctx.payload)
    email = request.get("email", "")
    async with db.service_session() as session:
        # Ended jobs are kept a while; the address and password hash they were given are not.
        await queue.forget_payload(session, ctx.job_id)
        user = (await session.exec(select(User).where(User.email == email))).first() if email else None
        if user is not None and user.email_confirmed_at is not None:
            if user.deleted_at is None and not user.is_disabled:
                await _tell_the_owner(session, user)
            return {}
        if request.get("backend") != "local":
            # Supabase emails its own link; our row waits for the first log-in it accepts.
            if user is None and request.get("external_id"):
                await _new_account(session, request)
            return {}
        if user is None:
            user = await _new_account(session, request)
        elif user.auth_backend == "local":  # still unconfirmed: the newest sign-up replaces it
            user.password_hash = request["password_hash"]
            user.display_name = request["display_name"]
            user.in_eu = bool(request["in_eu"])
        else:
            return {}
        await _send_confirmation(session, user)
    return {}


async def _new_account(session, request: dict) -> User:
    user = User(
        email=request["email"],
        display_name=request["display_name"],
        password_hash=request.get("password_hash"),
        auth_backend=request["backend"],
        external_id=request.get("external_id"),
        in_eu=bool(request["in_eu"]),
        age_confirmed_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    versions = [await policies.current_version(session, kind) for kind in policies.KINDS]
    await policies.record_acceptance(session, user_id=user.id, versions=versions)
    return user


async def _send_confirmation(session, user: User) -> None:
    """A fresh single-use link for an unconfirmed account (older ones stop working), by email."""
    token = security.new_session_token()
    user.email_token_hash = security.token_digest(token)
    user.email_token_expires_at = utcnow() + LINK_TTL
    await mail.send(
        session,
        to=user.email,
        template="sign_up_confirmation",
        context={
            "name": user.display_name,
            "confirm_url": f"{get_settings().public_url.rstrip('/')}/signup/confirm/{token}",
            "expires_hours": int(LINK_TTL.total_seconds() // 3600),
        },
        user_id=user.id,
    )


async def _tell_the_owner(session, user: User) -> None:
    await mail.send(
        session,
        to=user.email,
        template="sign_up_attempt",
        context={"name": user.display_name},
        user_id=user.id,
    )
    audit.record(session, actor_id=None, action="account.sign_up_attempted", target=str(user.id))


async def confirm(token: str, client: accounts.Client) -> str:
    """Confirm the account behind a sign-up link, once, and sign this browser in; returns a session token.

    NotAllowed (with what to do) for a used, replaced, expired or unknown link.
    """
    if not token or len(token) > 128:
        raise NotAllowed(LINK_UNKNOWN)
    digest = security.token_digest(token)
    now = utcnow()
    async with db.service_session() as session:
        # One UPDATE checks and spends the link: two tabs racing with it cannot both win.
        claimed = (
            await session.exec(
                sa.update(User)
                .where(
                    User.email_token_hash == digest,
                    User.email_confirmed_at.is_(None),
                    User.email_token_expires_at > now,
                    User.deleted_at.is_(None),
                    User.is_disabled.is_(False),
                )
                .values(email_confirmed_at=now, email_token_hash=None, email_token_expires_at=None)
                .returning(User.id)
            )
        ).first()
        if claimed is None:
            expired = (
                await session.exec(
                    select(User.id).where(User.email_token_hash == digest, User.email_confirmed_at.is_(None))
                )
            ).first()
            raise NotAllowed(LINK_EXPIRED if expired else LINK_UNKNOWN)
        user = await session.get(User, claimed[0])
        await accounts.welcome(session, user)
        return accounts.open_session(session, user.id, client)


async def resend_link(email_raw: str, client: accounts.Client) -> str:
    """Send a new link to an account that waits for one (the log-in page offers it); the answer to show."""
    email = clean_email(email_raw)
    backend = credentials()
    async with db.service_session() as session:
        await form_limits.count_submission(session, form_limits.RESEND, client.ip)
        if backend.backend == "local":
            await queue.enqueue(session, RESEND_LINK, {"email": email})
    if backend.backend != "local":
        await backend.resend_confirmation(email)
    return RESENT.format(email=email)


async def run_resend_link(ctx: Context) -> dict:
    email = ctx.payload.get("email", "")
    async with db.service_session() as session:
        # Ended jobs are kept a while; the address and password hash they were given are not.
        await queue.forget_payload(session, ctx.job_id)
        user = (await session.exec(select(User).where(User.email == email))).first() if email else None
        if user and user.email_confirmed_at is None and user.auth_backend == "local" and not user.deleted_at:
            await _send_confirmation(session, user)
    return {}


async def purge_unconfirmed() -> int:
    """Purge the accounts whose latest sign-up link is `UNCONFIRMED_DAYS` days old, unopened; returns how many."""
    now = utcnow()
    kept = timedelta(days=UNCONFIRMED_DAYS)
    async with db.service_session() as session:
        due = (
            await session.exec(
                select(User.id).where(
                    User.email_confirmed_at.is_(None),
                    User.deleted_at.is_(None),
                    sa.or_(
                        User.email_token_expires_at <= now - (kept - LINK_TTL),
                        sa.and_(User.email_token_expires_at.is_(None), User.created_at <= now - kept),
                    ),
                )
            )
        ).all()
        if due:
            await session.exec(
                sa.update(User).where(User.id.in_(due)).values(deleted_at=now, deletion_due_at=now)
            )
    for user_id in due:
        await privacy.purge_account(user_id)
    return len(due)
