"""How every table relates to a person: the one map that export, deletion and the tests share.

Each table of `assetry.models.metadata` has exactly one entry here. A new table
without an entry fails `tests/unit/test_ownership.py`, so nobody can add personal
data that the export forgets or the deletion leaves behind.

Relations:
- OWNER: the table's `column` holds the user's id (`users.id` itself for the users table).
- PARENT: rows belong to a row of `parent` (which has its own entry) through `column`.
- EMAIL: rows name the person only by email address (`column`), e.g. log-in attempts.
- ACTOR: an accountability record naming the user in `column`; kept, with that column
  set to NULL when the account is purged, so it no longer points at anyone.
- NOT_PERSONAL: holds nothing about a person; `reason` says why.

`secret` lists columns that never leave the database: hashes, sealed tokens, verifiers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from assetry.models import metadata

OWNER, PARENT, EMAIL, ACTOR, NOT_PERSONAL = "owner", "parent", "email", "actor", "not personal"
PERSONAL = (OWNER, PARENT, EMAIL)


@dataclass(frozen=True)
class Ownership:
    """How one table's rows relate to a user, and how it is exported."""

    table: str
    relation: str
    column: str = ""
    parent: str = ""
    secret: tuple[str, ...] = ()
    reason: str = ""
    # File name (without extension) in the export ZIP; "" for tables that are not exported.
    export_as: str = ""
    # What the README of an export says the file holds.
    describes: str = ""


_ENTRIES = [
    Ownership(
        "users",
        OWNER,
        "id",
        secret=("password_hash", "email_token_hash"),
        export_as="account",
        describes="your account: email, display name, time zone, preferences, sign-in method, "
        "when you last used the service (kept 90 days)",
    ),
    Ownership(
        "auth_sessions",
        OWNER,
        "user_id",
        secret=("token_hash",),
        export_as="sessions",
        describes="the browsers signed in to your account: when, from which IP and browser",
    ),
    Ownership(
        "login_attempts",
        EMAIL,
        "email",
        export_as="login_attempts",
        describes="log-in attempts made with your email address (kept 90 days to stop password guessing)",
    ),
    Ownership(
        "sandbox_records",
        NOT_PERSONAL,
        secret=("key_hash",),
        reason="codes and tokens the sandbox imitations of TikTok and Instagram issued for their "
        "made-up creators, and the moment their made-up timeline counts back from; no person or "
        "account of ours is named",
    ),
    Ownership(
        "form_submissions",
        NOT_PERSONAL,
        reason="the IP each sign-up, waitlist and link-resend form came from, with no address or "
        "account: kept one day to throttle each IP",
    ),
    Ownership(
        "usage_events",
        OWNER,
        "user_id",
        export_as="usage_events",
        describes="pages you opened, features you used and errors you met, with browser, device and IP "
        "(kept 90 days)",
    ),
    Ownership(
        "active_days",
        OWNER,
        "user_id",
        export_as="active_days",
        describes="the days (UTC) on which you used the service while signed in (kept 90 days)",
    ),
    Ownership(
        "daily_active_users",
        NOT_PERSONAL,
        reason="how many people used the service, and were last seen, on each day: counts naming nobody",
    ),
    Ownership(
        "audit_log",
        ACTOR,
        "actor_id",
        reason="accountability record of changes to accounts; on deletion the actor is set to NULL "
        "and a target naming the person (id or email) becomes a random 'deleted account' reference, "
        "so no entry points at the person any more; after 90 days only action and time stay",
    ),
    Ownership(
        "policy_versions",
        NOT_PERSONAL,
        reason="the published versions of the privacy policy and terms; the same for everyone",
    ),
    Ownership(
        "invitation_rounds",
        NOT_PERSONAL,
        reason="an admin's round of waitlist invitations: the search typed, how many were sent",
    ),
    Ownership(
        "policy_acceptances",
        OWNER,
        "user_id",
        export_as="consents",
        describes="which versions of the privacy policy and terms you accepted, and when",
    ),
    Ownership(
        "waitlist_entries",
        EMAIL,
        "email",
        export_as="waitlist",
        describes="your waitlist sign-up, if you joined it with this email address",
    ),
    Ownership(
        "support_messages",
        OWNER,
        "user_id",
        export_as="support_messages",
        describes="messages and privacy requests you sent us while signed in",
    ),
    Ownership(
        "data_exports",
        OWNER,
        "user_id",
        export_as="data_exports",
        describes="the copies of your data you asked for: when, status, size",
    ),
    Ownership(
        "sync_runs",
        OWNER,
        "user_id",
        secret=("cursor",),
        export_as="sync_runs",
        describes="each sync of your connected accounts: when, status, posts stored, errors",
    ),
    Ownership(
        "generations",
        OWNER,
        "user_id",
        export_as="generations",
        describes="every prompt you sent to a provider, with model, options, cost and status",
    ),
    Ownership(
        "generation_outputs",
        OWNER,
        "user_id",
        export_as="generation_outputs",
        describes="what each generation produced; the files themselves are in media/",
    ),
    Ownership(
        "connected_accounts",
        OWNER,
        "user_id",
        secret=("access_token_enc", "refresh_token_enc"),
        export_as="connected_accounts",
        describes="the TikTok and Instagram accounts you connected (never their access tokens)",
    ),
    Ownership(
        "oauth_states",
        OWNER,
        "user_id",
        secret=("state_hash", "session_hash", "code_verifier"),
        export_as="pending_connections",
        describes="connections you started (consent screens opened), without their secrets",
    ),
    Ownership(
        "posts",
        OWNER,
        "user_id",
        export_as="posts",
        describes="your own posts from connected accounts and the public posts you track",
    ),
    Ownership(
        "metric_snapshots",
        OWNER,
        "user_id",
        export_as="metric_history",
        describes="each post's numbers (views, likes, ...) at each moment they were captured",
    ),
    Ownership(
        "account_snapshots",
        OWNER,
        "user_id",
        export_as="account_history",
        describes="your connected accounts' followers and post counts over time",
    ),
    Ownership(
        "tracked_urls",
        OWNER,
        "user_id",
        export_as="tracked_urls",
        describes="public post links you asked us to track",
    ),
    Ownership(
        "notes",
        OWNER,
        "user_id",
        export_as="notes",
        describes="your notes on days and posts",
    ),
    Ownership(
        "post_links",
        OWNER,
        "user_id",
        export_as="post_links",
        describes="which of your posts you (or a match you confirmed) linked to the generation it was made from",
    ),
    Ownership(
        "match_proposals",
        OWNER,
        "user_id",
        export_as="match_proposals",
        describes="generations we proposed as the source of a new post, with the evidence, awaiting your answer",
    ),
    Ownership(
        "match_rejections",
        OWNER,
        "user_id",
        export_as="match_rejections",
        describes="proposed post and generation pairs you said were not a match (never proposed again)",
    ),
    Ownership(
        "video_fingerprints",
        OWNER,
        "user_id",
        export_as="video_fingerprints",
        describes="perceptual fingerprints of frames of your generated videos, computed on our servers "
        "to recognise your posts",
    ),
    Ownership(
        "plan_slots",
        OWNER,
        "user_id",
        export_as="plan",
        describes="your posting plan: what you planned to post and when (UTC), and when we reminded you",
    ),
    Ownership(
        "what_works_figures",
        OWNER,
        "user_id",
        export_as="what_works_figures",
        describes="the figures of your What works page as last computed from your posts, kept until they change",
    ),
    Ownership(
        "post_figures",
        OWNER,
        "user_id",
        export_as="post_figures",
        describes="per post, its latest, highest and first numbers, worked out from its metric history",
    ),
    Ownership(
        "growth_quarters",
        OWNER,
        "user_id",
        export_as="growth_by_quarter_hour",
        describes="how much your own posts' numbers grew in each quarter hour (UTC), per connected account, "
        "worked out from their metric history",
    ),
    Ownership(
        "snapshot_reasons",
        OWNER,
        "user_id",
        export_as="missing_number_reasons",
        describes="per post, the reasons platforms gave for numbers they left out, and how often",
    ),
    # The email outbox (the mail service's table): exported and purged when it exists.
    Ownership(
        "outbox",
        OWNER,
        "user_id",
        export_as="emails",
        describes="emails we sent you or queued for you",
    ),
    Ownership(
        "password_resets",
        OWNER,
        "user_id",
        secret=("token_hash",),
        export_as="password_resets",
        describes="password-reset links you asked for: when, until when they worked, whether used "
        "(never the links themselves)",
    ),
    Ownership(
        "policy_notices",
        OWNER,
        "user_id",
        export_as="policy_notices",
        describes="which policy changes we emailed you about, and when",
    ),
]

MAP: dict[str, Ownership] = {entry.table: entry for entry in _ENTRIES}


def entries() -> list[Ownership]:
    """The entries of the tables that exist in this installation's schema, in dependency order."""
    return [MAP[table.name] for table in metadata.sorted_tables if table.name in MAP]


def unmapped_tables() -> list[str]:
    """Tables of the metadata with no entry in the map (a test keeps this empty)."""
    return sorted(name for name in metadata.tables if name not in MAP)


def personal() -> list[Ownership]:
    """Entries whose rows are a person's data (exported, and deleted with the account)."""
    return [entry for entry in entries() if entry.relation in PERSONAL]


def rows_of(entry: Ownership, user_id: uuid.UUID, email: str) -> sa.ColumnElement[bool]:
    """The WHERE clause selecting one user's rows of this entry's table."""
    table = metadata.tables[entry.table]
    if entry.relation in (OWNER, ACTOR):
        return table.c[entry.column] == user_id
    if entry.relation == EMAIL:
        return sa.func.lower(table.c[entry.column]) == email.lower()
    if entry.relation == PARENT:
        parent_entry = MAP[entry.parent]
        parent = metadata.tables[entry.parent]
        (key,) = [fk.column for fk in table.c[entry.column].foreign_keys if fk.column.table is parent]
        return table.c[entry.column].in_(sa.select(key).where(rows_of(parent_entry, user_id, email)))
    raise ValueError(f"{entry.table} holds no personal data")


def exported_columns(entry: Ownership) -> list[sa.Column]:
    """The columns of a table that an export includes (all but the secret ones)."""
    return [column for column in metadata.tables[entry.table].c if column.name not in entry.secret]
