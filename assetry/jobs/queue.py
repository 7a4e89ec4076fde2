"""Putting work on procrastinate's queues and taking it off, inside the caller's transaction.

`enqueue` calls procrastinate's own defer function through the caller's session, so a
row and its job are committed together or not at all (a crash between two commits
would leave a generation queued with no job to run it).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.models.base import utcnow

_DEFER = sa.text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
    ":queueing_lock, CAST(:args AS jsonb), :scheduled_at)::procrastinate_job_to_defer_v1]))"
)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    user_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    delay_seconds: float = 0,
    lock: str | None = None,
) -> int | None:
    """Queue the task `kind` with `payload` in the caller's transaction; returns the job's id.

    `dedupe_key`: while a job with the same key waits, no second one is queued (None is
    returned). `lock`: jobs with the same lock never run at the same time. A `user_id` is
    passed to the task in its payload, so a job of a deleted user is dropped."""
    from assetry.jobs.manifest import spec  # the manifest imports the services that call this

    task = spec(kind)
    args = payload | ({"user_id": str(user_id)} if user_id else {})
    scheduled_at = utcnow() + timedelta(seconds=delay_seconds) if delay_seconds else None
    values = {
        "queue": task.queue,
        "task": kind,
        "priority": task.priority,
        "lock": lock,
        "queueing_lock": dedupe_key,
        "args": json.dumps(args),
        "scheduled_at": scheduled_at,
    }
    if dedupe_key is None:  # nothing to collide with: no savepoint (two round trips) needed
        return (await session.exec(_DEFER, params=values)).scalar_one()
    try:
        async with session.begin_nested():
            return (await session.exec(_DEFER, params=values)).scalar_one()
    except IntegrityError:  # a job with this key is already waiting
        return None


async def cancel(session: AsyncSession, job_id: int) -> bool:
    """Cancel a waiting job now (True), or ask a running one to stop (False: it confirms later)."""
    await session.exec(sa.text("SELECT procrastinate_cancel_job_v1(:id, true, false)"), params={"id": job_id})
    status = await session.scalar(
        sa.text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), params={"id": job_id}
    )
    return status == "cancelled"


async def forget_payload(session: AsyncSession, job_id: int) -> None:
    """Empty a job's stored arguments (an address that must not be kept once read)."""
    await session.exec(
        sa.text("UPDATE procrastinate_jobs SET args = '{}'::jsonb WHERE id = :id"), params={"id": job_id}
    )


async def forget_person(session: AsyncSession, user_id: uuid.UUID, email: str) -> int:
    """Jobs whose arguments or keys name a purged person (their id or address): deleted with
    their events, or, for a job running now (the purge itself), emptied. Returns how many."""
    needles = {"id": str(user_id), "email": f'"{email.lower()}"'}
    names = (
        "(strpos(lower(args::text), :id) > 0 OR strpos(lower(args::text), :email) > 0"
        " OR strpos(coalesce(queueing_lock, ''), :id) > 0 OR strpos(coalesce(lock, ''), :id) > 0)"
    )
    deleted = await session.exec(
        sa.text(f"DELETE FROM procrastinate_jobs WHERE status <> 'doing' AND {names}"), params=needles
    )
    emptied = await session.exec(
        sa.text(
            "UPDATE procrastinate_jobs SET args = '{}'::jsonb, queueing_lock = NULL"
            f" WHERE status = 'doing' AND {names}"
        ),
        params=needles,
    )
    return deleted.rowcount + emptied.rowcount


async def delete_ended(session: AsyncSession, *, before: datetime) -> int:
    """Delete jobs that ended (succeeded, failed, cancelled, aborted) before `before`, with their events."""
    result = await session.exec(
        sa.text(
            "DELETE FROM procrastinate_jobs j"
            " WHERE j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')"
            " AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) < :before"
        ),
        params={"before": before},
    )
    return result.rowcount
