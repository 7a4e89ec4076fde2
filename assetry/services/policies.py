"""The privacy policy and terms: versioned markdown in `assetry/policies/`, acceptances in the DB.

A policy's version is its effective date plus the digest of its text, so an edited
file is detected even when someone forgets to move the date.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.config import Mode, Settings
from assetry.models import PolicyAcceptance, PolicyVersion

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
KINDS = ("privacy", "terms")


@dataclass(frozen=True)
class PolicyDocument:
    """One policy text as published: its kind, title, effective date, body and digest."""

    kind: str
    title: str
    effective_on: date
    body: str
    digest: str


@functools.cache
def document(kind: str) -> PolicyDocument:
    """The current text of a policy, read from its versioned source file."""
    if kind not in KINDS:
        raise ValueError(f"unknown policy {kind!r}")
    raw = (POLICY_DIR / f"{kind}.md").read_text(encoding="utf-8")
    _, header, body = raw.split("---", 2)
    fields = dict(line.split(":", 1) for line in header.strip().splitlines())
    return PolicyDocument(
        kind=kind,
        title=fields["title"].strip(),
        effective_on=date.fromisoformat(fields["effective"].strip()),
        body=body.strip(),
        digest=hashlib.sha256(raw.encode()).hexdigest(),
    )


async def current_version(session: AsyncSession, kind: str) -> PolicyVersion:
    """The PolicyVersion row of the current text, recorded on first sight (service session)."""
    doc = document(kind)
    found = (
        await session.exec(
            select(PolicyVersion).where(PolicyVersion.kind == kind, PolicyVersion.digest == doc.digest)
        )
    ).first()
    if found:
        return found
    version = PolicyVersion(kind=kind, effective_on=doc.effective_on, digest=doc.digest)
    async with session.begin_nested():
        session.add(version)
    return version


async def record_acceptance(
    session: AsyncSession, *, user_id: uuid.UUID, versions: list[PolicyVersion]
) -> None:
    """Record that a user accepted these policy versions."""
    for version in versions:
        session.add(PolicyAcceptance(user_id=user_id, policy_version_id=version.id))


async def unaccepted(session: AsyncSession, *, user_id: uuid.UUID) -> list[str]:
    """The policy kinds whose current version this user has not accepted yet (one query for all kinds)."""
    return unaccepted_among((await session.exec(sa.select(accepted_digests(user_id)))).one()[0])


def current_digests() -> list[str]:
    """The digests of the current policy texts."""
    return [document(kind).digest for kind in KINDS]


def accepted_digests(
    user_id: uuid.UUID | sa.BindParameter, current: list[str] | sa.BindParameter | None = None
) -> sa.ScalarSelect:
    """The digests of the current policy texts (`current`, by default `current_digests()`) this user
    accepted, as one array (NULL for none): a column to read beside others in one statement
    (`unaccepted_among` names what is left). The user and the digests: values, or bound parameters
    of a statement built once (the digests an expanding one)."""
    return (
        select(sa.func.array_agg(PolicyVersion.digest))
        .join(PolicyAcceptance, PolicyVersion.id == PolicyAcceptance.policy_version_id)
        .where(
            PolicyAcceptance.user_id == user_id,
            col(PolicyVersion.digest).in_(current_digests() if current is None else current),
        )
        .scalar_subquery()
    )


def unaccepted_among(accepted: list[str] | None) -> list[str]:
    """The policy kinds whose current text is not among these accepted digests."""
    return [kind for kind in KINDS if document(kind).digest not in (accepted or ())]


def processors_in_use(settings: Settings) -> list[str]:
    """The processors this installation is configured to send data to (empty when embedded).

    Each line is derived from the setting that turns the processor on, and names the host
    where the setting alone says it (Supabase only when the host is Supabase's), so the
    privacy page stays true when the configuration changes.
    """

    def configured(value) -> bool:
        if value is None:
            return False
        return bool(value.get_secret_value() if hasattr(value, "get_secret_value") else value)

    best_posts = 'and, when you turn on "Write like my best posts", the captions of your top posts'
    in_use = []
    if settings.database_mode is Mode.CONFIGURED:
        in_use.append(
            f"{_host_name(settings.database_url, 'Postgres database')}: your account data and content"
        )
    if settings.auth_mode is Mode.CONFIGURED:
        in_use.append("Supabase Auth: your email address and password, for signing in")
    if settings.media_mode is Mode.CONFIGURED:
        in_use.append(
            f"{_host_name(settings.media_s3_endpoint, 'S3 storage', supabase='Supabase Storage')}: "
            "the images and videos you generate"
        )
    if settings.state_mode is Mode.CONFIGURED:
        in_use.append(
            f"{_host_name(settings.redis_url, 'Redis')}: what your open pages show (your data among it), "
            "while you use them"
        )
    if configured(settings.fal_key):
        in_use.append("fal.ai: your prompts and settings for images and videos, and the files it makes")
    if configured(settings.gemini_api_key):
        in_use.append(f"Google Gemini: your prompts for captions and images, {best_posts}")
    if configured(settings.anthropic_api_key):
        in_use.append(f"Anthropic: your prompts for captions, {best_posts}")
    if settings.apify_mode is Mode.CONFIGURED:
        in_use.append("Apify: the links of public posts you track, to fetch their numbers")
    if settings.tiktok_mode is Mode.CONFIGURED:
        in_use.append("TikTok: your sign-in consent, then your profile, videos and their numbers")
    if settings.instagram_mode is Mode.CONFIGURED:
        in_use.append("Meta (Instagram): your sign-in consent, then your profile, posts and their insights")
    if settings.mail_mode is Mode.CONFIGURED:
        in_use.append("Email delivery (SMTP): your email address and the messages we send you")
    return in_use


SUPABASE_HOSTS = (".supabase.co", ".supabase.com")  # projects, and their connection poolers


def _host_name(url: str | None, what: str, *, supabase: str = "") -> str:
    """'Supabase (what)' for a Supabase host, else 'what at <host>' (never credentials)."""
    host = (urlparse(url or "").hostname or "").lower()
    if host.endswith(SUPABASE_HOSTS):
        return supabase or f"Supabase ({what})"
    return f"{what} at {host}" if host else what
