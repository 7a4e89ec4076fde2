"""What a user sees and corrects about themselves: profile, email change, sessions, preferences.

An email change takes effect only when the new address confirms it through a
single-use link that expires; until then the old address stays the account's.
"""

from __future__ import annotations

import logging
import secrets
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select
from user_agents import parse as parse_user_agent

from assetry import db, logs, security
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import AuthSession, ConnectedAccount, SupportMessage, User
from assetry.models.base import utcnow
from assetry.services import audit, contact
from assetry.services.credentials import credentials
from assetry.services.validation import clean_email, clean_text

log = logging.getLogger(__name__)

EMAIL_LINK_HOURS = 24
TIME_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
# Old aliases and fixed offsets stay accepted, but the picker offers the places people live in.
_OFFERED_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
                  "Europe", "Indian", "Pacific")  # fmt: skip


def time_zone_choices(now: datetime | None = None) -> list[tuple[str, str]]:
    """The zones the picker offers, as (IANA id, readable name): "Europe/Paris — Paris (UTC+01:00)",
    with the offset in force `now`; UTC first."""
    now = now or utcnow()
    choices = [("UTC", "UTC — Coordinated Universal Time (UTC+00:00)")]
    for zone in TIME_ZONES:
        if zone.split("/", 1)[0] not in _OFFERED_AREAS or "/" not in zone:
            continue
        offset = int(now.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset().total_seconds() // 60)
        sign, offset = ("+" if offset >= 0 else "-"), abs(offset)
        place = zone.rsplit("/", 1)[1].replace("_", " ")
        choices.append((zone, f"{zone} — {place} (UTC{sign}{offset // 60:02d}:{offset % 60:02d})"))
    return choices


PRIVACY_REQUESTS = {
    "access": "Access: tell me what data you hold about me",
    "correction": "Correction: something you hold about me is wrong",
    "objection": "Objection: stop using my data for something",
    "complaint": "Complaint about how my data is handled",
    "child": "I think a child under 13 uses Assetry",
}


@dataclass(frozen=True)
class Profile:
    email: str
    display_name: str
    time_zone: str
    time_zone_chosen: bool
    pending_email: str
    product_emails: bool
    usage_opt_out: bool
    auth_backend: str


@dataclass(frozen=True)
class BrowserSession:
    id: str
    browser: str
    ip: str
    signed_in_at: datetime
    current: bool


async def profile(user_id: uuid.UUID) -> Profile:
    async with db.user_session(user_id) as session:
        user = await _user(session, user_id)
    return Profile(
        email=user.email,
        display_name=user.display_name,
        time_zone=user.time_zone,
        time_zone_chosen=user.time_zone_chosen or user.time_zone != "UTC",
        pending_email=user.pending_email or "",
        product_emails=user.product_emails,
        usage_opt_out=user.usage_opt_out,
        auth_backend=user.auth_backend,
    )


async def update_profile(user_id: uuid.UUID, *, display_name: str, time_zone: str) -> None:
    """Correct the display name and the time zone (an IANA name such as Asia/Jakarta)."""
    name = clean_text(display_name, field="display name", max_length=80, required=False)
    time_zone = time_zone.split(" — ", 1)[0].strip()  # a readable name pasted whole names its zone
    if time_zone not in TIME_ZONES:
        raise BadInput(
            f"“{time_zone[:64]}” is not a time zone we know: type a city (for example Paris) "
            "and pick it from the list."
        )
    async with db.user_session(user_id) as session:
        user = await _user(session, user_id)
        user.display_name, user.time_zone, user.time_zone_chosen = name, time_zone, True


async def request_email_change(user_id: uuid.UUID, new_email_raw: str, password: str) -> str:
    """Send a confirmation link to the new address; returns the link (it is also emailed).

    The address changes only when that link is opened (`confirm_email_change`).
    """
    new_email = clean_email(new_email_raw)
    async with db.service_session() as session:
        user = await _user(session, user_id)
        if user.auth_backend != "local":
            raise BadInput(
                "Your sign-in is managed by Supabase Auth, where the email is your login. "
                "Send us a correction request below and we will change it on both sides."
            )
        if new_email == user.email:
            raise BadInput("That is already your email address.")
        if not password or len(password) > 1024 or not await credentials().verify(user, password):
            raise BadInput("Your current password is not right.")
        taken = (await session.exec(select(User.id).where(User.email == new_email))).first()
        if taken:
            raise BadInput("Another account uses that email address.")
        token = secrets.token_urlsafe(32)
        user.pending_email = new_email
        user.email_token_hash = security.token_digest(token)
        user.email_token_expires_at = utcnow() + timedelta(hours=EMAIL_LINK_HOURS)
        link = f"{get_settings().public_url.rstrip('/')}/confirm-email/{token}"
        try:
            async with session.begin_nested():
                await _send_confirmation(session, user, new_email, link)
        except Exception:  # the request stands; the page says to ask again if no email arrives
            log.exception("the email confirmation for user %s could not be queued", logs.pseudonym(user_id))
    return link


async def _send_confirmation(session, user: User, new_email: str, link: str) -> None:
    """Queue the email-confirmation message to the new address in the caller's transaction."""
    from assetry.services import mail

    await mail.send(
        session,
        to=new_email,
        template="email_confirmation",
        context={
            "name": user.display_name,
            "new_email": new_email,
            "confirm_url": link,
            "expires_hours": EMAIL_LINK_HOURS,
        },
        user_id=user.id,
    )


async def confirm_email_change(token: str) -> str:
    """Make the pending address the account's; returns it. BadInput for a used, expired or unknown link."""
    if not token or len(token) > 128:
        raise BadInput("This confirmation link is not valid.")
    expired = False
    async with db.service_session() as session:
        user = (
            await session.exec(select(User).where(User.email_token_hash == security.token_digest(token)))
        ).first()
        if user is None or not user.pending_email or user.deleted_at is not None:
            raise BadInput("This confirmation link was already used or is not valid.")
        if user.email_token_expires_at is None or user.email_token_expires_at <= utcnow():
            expired = True  # the stale request is cleared (committed), then refused
        elif (await session.exec(select(User.id).where(User.email == user.pending_email))).first():
            raise BadInput("Another account uses that email address now.")
        else:
            user.email = user.pending_email
            audit.record(session, actor_id=user.id, action="account.email_changed", target=str(user.id))
        user.pending_email = user.email_token_hash = user.email_token_expires_at = None
    if expired:
        raise BadInput("This confirmation link has expired. Ask for a new one in Settings.")
    return user.email


async def cancel_email_change(user_id: uuid.UUID) -> None:
    async with db.user_session(user_id) as session:
        user = await _user(session, user_id)
        user.pending_email = user.email_token_hash = user.email_token_expires_at = None


async def set_preferences(user_id: uuid.UUID, *, product_emails: bool, usage_opt_out: bool) -> None:
    """Product-update emails (opt-in) and "don't tie my usage to me"."""
    async with db.user_session(user_id) as session:
        user = await _user(session, user_id)
        user.product_emails, user.usage_opt_out = bool(product_emails), bool(usage_opt_out)


async def active_sessions(user_id: uuid.UUID, current_token: str) -> list[BrowserSession]:
    """The browsers signed in to this account now, newest first; `current` marks this one."""
    current_hash = security.token_digest(current_token) if current_token else ""
    async with db.user_session(user_id) as session:
        rows = (
            await session.exec(
                select(AuthSession)
                .where(
                    AuthSession.user_id == user_id,
                    AuthSession.revoked_at.is_(None),
                    AuthSession.expires_at > utcnow(),
                    AuthSession.ticket_expires_at.is_(None),  # not yet swapped for a cookie
                )
                .order_by(AuthSession.created_at.desc())
            )
        ).all()
    found = []
    for row in rows:
        agent = parse_user_agent(row.user_agent or "")
        browser = f"{agent.browser.family} on {agent.os.family}" if row.user_agent else "Unknown browser"
        found.append(
            BrowserSession(
                id=str(row.id),
                browser=browser,
                ip=row.ip or "unknown",
                signed_in_at=row.created_at,
                current=row.token_hash == current_hash,
            )
        )
    return found


async def log_out_others(user_id: uuid.UUID, keep_token: str) -> int:
    """Revoke every session of the user but this browser's; returns how many."""
    async with db.user_session(user_id) as session:
        result = await session.exec(
            sa.update(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.token_hash != security.token_digest(keep_token),
                AuthSession.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        return result.rowcount


async def connected_summary(user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """(platform, name, status) of each connected account."""
    async with db.user_session(user_id) as session:
        rows = (
            await session.exec(
                select(ConnectedAccount)
                .where(ConnectedAccount.user_id == user_id)
                .order_by(ConnectedAccount.created_at)
            )
        ).all()
    return [
        (row.platform, f"@{row.username}" if row.username else row.display_name, row.status) for row in rows
    ]


async def send_privacy_request(user_id: uuid.UUID, kind: str, body: str) -> SupportMessage:
    """Store a privacy request for the admin inbox, as a support message of that kind."""
    if kind not in PRIVACY_REQUESTS:
        raise BadInput("Choose what your request is about.")
    async with db.user_session(user_id) as session:
        user = await _user(session, user_id)
    message = await contact.send_support_message(
        email=user.email,
        name=user.display_name,
        subject=f"Privacy request: {PRIVACY_REQUESTS[kind]}",
        body=body,
        user_id=user_id,
        kind=kind,
    )
    from assetry.services import mail

    async with db.service_session() as session:
        await mail.send(
            session,
            to=user.email,
            template="privacy_request_received",
            context={"name": user.display_name, "topic": PRIVACY_REQUESTS[kind], "request": message.body},
            user_id=user_id,
        )
    return message


async def _user(session, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotAllowed("Please log in again.")
    return user
