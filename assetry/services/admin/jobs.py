"""Background jobs as admins see them (procrastinate's table): filter, retry a failed one, cancel.

The message a person sees when a job fails lives on its domain row (a generation, an
export, an outbox message); the technical detail is in the log under the job's id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from assetry import db
from assetry.errors import BadInput
from assetry.jobs import manifest, queue
from assetry.models import User
from assetry.services import audit
from assetry.services.admin.common import acting_admin
from assetry.services.admin.paging import Page, SortKey, Window, read_page

TODO, DOING, SUCCEEDED, FAILED, CANCELLED, ABORTED = (
    "todo",
    "doing",
    "succeeded",
    "failed",
    "cancelled",
    "aborted",
)
STATUSES = (TODO, DOING, FAILED, SUCCEEDED, CANCELLED, ABORTED)
LIVE = (TODO, DOING)

JOBS = sa.table(
    "procrastinate_jobs",
    sa.column("id", sa.BigInteger),
    sa.column("task_name", sa.String),
    sa.column("queue_name", sa.String),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("args", JSONB),
    sa.column("abort_requested", sa.Boolean),
)
EVENTS = sa.table(
    "procrastinate_events",
    sa.column("job_id", sa.BigInteger),
    sa.column("type", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
)
DEFERRED_AT = (
    sa.select(sa.func.min(EVENTS.c.at))
    .where(EVENTS.c.job_id == JOBS.c.id)
    .scalar_subquery()
    .label("deferred_at")
)
NEWEST = SortKey(DEFERRED_AT, JOBS.c.id, newest_first=True)


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    queue: str
    status: str
    attempts: int
    user_email: str  # "" for service jobs
    created_at: datetime | None
    abort_requested: bool


def job_id_of(text: str) -> int:
    """A job id the browser sent; BadInput when it is not one."""
    if not str(text).isdigit():
        raise BadInput("That job doesn't exist.")
    return int(text)


async def kinds(actor_id: uuid.UUID) -> list[str]:
    """Job kinds to filter by: the tasks of the manifest."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
    return manifest.names()


async def listing(
    actor_id: uuid.UUID, *, status: str = "", kind: str = "", window: Window = Window()
) -> Page[JobRow]:
    """Jobs, newest first, filtered by status and kind."""
    if status and status not in STATUSES:
        raise BadInput("Pick a job status from the list.")
    filters = []
    if status:
        filters.append(sa.cast(JOBS.c.status, sa.Text) == status)
    if kind:
        filters.append(JOBS.c.task_name == kind[:128])
    owner = sa.cast(JOBS.c.args["user_id"].astext, sa.Uuid)
    listed = (
        sa.select(
            JOBS.c.id,
            JOBS.c.task_name,
            JOBS.c.queue_name,
            sa.cast(JOBS.c.status, sa.Text),
            JOBS.c.attempts,
            User.email,
            DEFERRED_AT,
            JOBS.c.abort_requested,
        )
        .outerjoin(User, User.id == owner)
        .where(*filters)
    )
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, listed, NEWEST, window)
    found.rows = [JobRow(*row[:5], row[5] or "", row[6], row[7]) for row in found.rows]
    return found


async def retry(actor_id: uuid.UUID, job_id: int) -> None:
    """Put a failed job back in its queue, due now."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        kind, status = await _job(session, job_id)
        if status != FAILED:
            raise BadInput(f"Only failed jobs can be retried; this one is {status}.")
        if kind not in manifest.names():
            raise BadInput(f"No task runs jobs of kind {kind!r} any more, so it can't be retried.")
        await session.exec(
            sa.text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), params={"id": job_id}
        )
        audit.record(session, actor_id=actor_id, action="admin.job_retried", target=str(job_id), detail=kind)


async def cancel(actor_id: uuid.UUID, job_id: int) -> None:
    """Cancel a queued job at once, or ask a running one to stop."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        kind, status = await _job(session, job_id)
        if status not in LIVE:
            raise BadInput(f"This job has already ended ({status}).")
        await queue.cancel(session, job_id)
        audit.record(
            session, actor_id=actor_id, action="admin.job_cancelled", target=str(job_id), detail=kind
        )


async def _job(session, job_id: int) -> tuple[str, str]:
    found = (
        await session.exec(
            sa.select(JOBS.c.task_name, sa.cast(JOBS.c.status, sa.Text)).where(JOBS.c.id == job_id)
        )
    ).first()
    if found is None:
        raise BadInput("That job doesn't exist.")
    return found[0], found[1]
