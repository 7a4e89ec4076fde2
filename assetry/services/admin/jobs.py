"""Background jobs as admins see them: filter, read the error, retry a failed one, cancel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.jobs import queue, registry
from assetry.models import Job, User
from assetry.models.base import utcnow
from assetry.models.jobs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, SUCCEEDED
from assetry.services import audit
from assetry.services.admin.common import acting_admin, existing
from assetry.services.admin.paging import Page, SortKey, Window, read_page

STATUSES = (QUEUED, RUNNING, FAILED, SUCCEEDED, CANCELLED)
NEWEST = SortKey(col(Job.created_at), col(Job.id), newest_first=True)


@dataclass(frozen=True)
class JobRow:
    id: uuid.UUID
    kind: str
    status: str
    attempts: int
    max_attempts: int
    user_email: str  # "" for service jobs
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime
    cancel_requested: bool


async def kinds(actor_id: uuid.UUID) -> list[str]:
    """Job kinds to filter by: the registered tasks and any found in the table."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        stored = (await session.exec(select(Job.kind).distinct())).all()
    return sorted(set(registry.kinds()) | set(stored))


async def listing(
    actor_id: uuid.UUID, *, status: str = "", kind: str = "", window: Window = Window()
) -> Page[JobRow]:
    """Jobs, newest first, filtered by status and kind."""
    if status and status not in STATUSES:
        raise BadInput("Pick a job status from the list.")
    filters = []
    if status:
        filters.append(Job.status == status)
    if kind:
        filters.append(Job.kind == kind[:64])
    listed = sa.select(Job, User.email).outerjoin(User, User.id == Job.user_id).where(*filters)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, listed, NEWEST, window)
    found.rows = [
        JobRow(
            job.id, job.kind, job.status, job.attempts, job.max_attempts, email or "", job.error,
            job.created_at, job.started_at, job.finished_at, job.run_after, job.cancel_requested,
        )
        for job, email in found.rows
    ]  # fmt: skip
    return found


async def retry(actor_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """Put a failed job back in the queue, due now, with its attempts reset."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        job = await existing(session, Job, job_id, "job")
        if job.status != FAILED:
            raise BadInput(f"Only failed jobs can be retried; this one is {job.status}.")
        try:
            deadline = registry.spec(job.kind).deadline_seconds
        except KeyError:
            raise BadInput(
                f"No task runs jobs of kind {job.kind!r} any more, so it can't be retried."
            ) from None
        now = utcnow()
        job.status, job.attempts, job.error = QUEUED, 0, ""
        job.run_after, job.deadline_at = now, now + timedelta(seconds=deadline)
        job.lease_until, job.worker_id, job.cancel_requested = None, "", False
        job.finished_at, job.result = None, None
        audit.record(
            session, actor_id=actor_id, action="admin.job_retried", target=str(job.id), detail=job.kind
        )
    return job


async def cancel(actor_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        job = await existing(session, Job, job_id, "job")
        if job.status in FINISHED:
            raise BadInput(f"This job has already ended ({job.status}).")
        await queue.request_cancel(session, job.id)
        audit.record(
            session, actor_id=actor_id, action="admin.job_cancelled", target=str(job.id), detail=job.kind
        )
    return job
