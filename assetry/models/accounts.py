"""Accounts: users, their server-side sessions, log-in attempts and public form submissions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field


class User(SQLModel, table=True):
    """A person with an Assetry account (local or Supabase Auth)."""

    __tablename__ = "users"

    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(default="", max_length=80)
    # argon2id hash for local accounts; None when Supabase Auth holds the credential.
    password_hash: str | None = Field(default=None, max_length=255)
    auth_backend: str = Field(default="local", max_length=16)
    external_id: str | None = Field(default=None, max_length=64, index=True)
    is_admin: bool = False
    is_disabled: bool = False
    # Generations a day this user may start; None means the site-wide DAILY_GENERATION_QUOTA.
    daily_quota: int | None = None
    in_eu: bool = False
    # IANA zone the dashboards show days and hours in.
    time_zone: str = Field(default="UTC", max_length=64)
    # Whether the person saved a zone; until then UTC is only the default (settings offers the browser's).
    time_zone_chosen: bool = False
    # Product-update emails are opt-in; account and security emails always go out.
    product_emails: bool = False
    # "Don't tie my usage to me": usage events are then stored without the user's id.
    usage_opt_out: bool = False
    # The latest usage tied to the account, kept within `services.usage.SEEN_EVERY` (and at least
    # to the day); cleared once it is older than the 90 days usage is kept.
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # None while a new account waits for the link emailed at sign-up (its token's SHA-256 is
    # then in `email_token_hash`); such an account cannot log in and is purged after a few days.
    email_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An email change waits here until the new address confirms it (single-use link).
    pending_email: str | None = Field(default=None, max_length=254)
    email_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    email_token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the user asked to delete the account; its data is purged at deletion_due_at.
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deletion_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    age_confirmed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = created_field()


class AuthSession(SQLModel, table=True):
    """A logged-in browser. Only the SHA-256 of its token is stored.

    A new session first stands for a single-use ticket (`ticket_expires_at` set, the ticket's
    SHA-256 in `token_hash`) that the browser swaps for its cookie at /session/start.
    """

    __tablename__ = "auth_sessions"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ticket_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)


class LoginAttempt(SQLModel, table=True):
    """One try at logging in, kept (90 days at most) to throttle guessing."""

    __tablename__ = "login_attempts"

    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, index=True)
    ip: str = Field(default="", max_length=64, index=True)
    succeeded: bool = False
    created_at: datetime = created_field()


class FormSubmission(SQLModel, table=True):
    """A sign-up, waitlist or link-resend form sent from an IP, kept a day to throttle each IP."""

    __tablename__ = "form_submissions"

    id: uuid.UUID = id_field()
    form: str = Field(max_length=16)
    ip: str = Field(default="", max_length=64, index=True)
    created_at: datetime = created_field()
