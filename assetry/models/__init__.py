"""SQLModel tables, one module per domain. Importing this package registers them all."""

from sqlmodel import SQLModel

from assetry.models.accounts import AuthSession, FormSubmission, LoginAttempt, User
from assetry.models.activity import ActiveDay, AuditEntry, DailyActiveCount, UsageEvent
from assetry.models.analytics import (
    AccountSnapshot,
    ConnectedAccount,
    MetricSnapshot,
    Note,
    OAuthState,
    Post,
    TrackedUrl,
)
from assetry.models.contact import SupportMessage, WaitlistEntry
from assetry.models.mail import OutboxMessage, PasswordReset, PolicyNotice
from assetry.models.outcomes import (
    MatchProposal,
    MatchRejection,
    PostLink,
    VideoFingerprint,
    WhatWorksFigures,
)
from assetry.models.plan import PlanSlot
from assetry.models.policy import PolicyAcceptance, PolicyVersion
from assetry.models.runs import DataExport, InvitationRound, SyncRun
from assetry.models.sandbox import SandboxRecord
from assetry.models.studio import Generation, GenerationOutput

metadata = SQLModel.metadata


def owner_column(table_name: str) -> str | None:
    """The column naming a row's owner: `id` for users, `user_id` for user-owned tables."""
    if table_name == "users":
        return "id"
    return "user_id" if "user_id" in metadata.tables[table_name].c else None


def user_owned_tables() -> list[str]:
    """Tables whose rows belong to one user; row-level security covers each."""
    return sorted(name for name in metadata.tables if owner_column(name))


__all__ = [
    "AccountSnapshot",
    "ActiveDay",
    "AuditEntry",
    "AuthSession",
    "ConnectedAccount",
    "DailyActiveCount",
    "DataExport",
    "FormSubmission",
    "Generation",
    "GenerationOutput",
    "InvitationRound",
    "LoginAttempt",
    "MatchProposal",
    "MatchRejection",
    "MetricSnapshot",
    "Note",
    "OAuthState",
    "OutboxMessage",
    "PasswordReset",
    "PlanSlot",
    "PolicyAcceptance",
    "PolicyNotice",
    "PolicyVersion",
    "Post",
    "PostLink",
    "SandboxRecord",
    "SupportMessage",
    "SyncRun",
    "TrackedUrl",
    "UsageEvent",
    "User",
    "VideoFingerprint",
    "WaitlistEntry",
    "WhatWorksFigures",
    "metadata",
    "owner_column",
    "user_owned_tables",
]
