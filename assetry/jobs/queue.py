"""Storage of jobs: enqueue, claim under a lease, heartbeat, finish, retry, cancel."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.jobs import registry
from assetry.models.base import utcnow
from assetry.models.jobs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, SUCCEEDED, Job

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    user_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    delay_seconds: float = 0,
) -> Job:
    """Add a job in the caller's transaction; with a dedupe key, return the existing job instead."""
    task = registry.spec(kind)
    if dedupe_key:
        existing = (await session.exec(select(Job).where(Job.dedupe_key == dedupe_key))).first()
        if existing:
            return existing
    now = utcnow()
    job = Job(
        user_id=user_id,
        kind=kind,
        payload=payload,
        max_attempts=task.max_attempts,
        run_after=now + timedelta(seconds=delay_seconds),
        deadline_at=now + timedelta(seconds=delay_seconds + task.deadline_seconds),
        dedupe_key=dedupe_key,
    )
    try:
        async with session.begin_nested():
            session.add(job)
    except IntegrityError:  # the same key, enqueued at the same moment by another request
        return (await session.exec(select(Job).where(Job.dedupe_key == dedupe_key))).one()
    return job


async def enqueue_periodic(now_epoch: float) -> int:
    """Enqueue each periodic task once per period; workers racing here create one job per period."""
    created = 0
    for task in registry.periodic():
        bucket = int(now_epoch // task.every_seconds)
        async with db.service_session() as session:
            job = await enqueue(
                session, task.kind, {"period": bucket}, dedupe_key=f"every:{task.kind}:{bucket}"
            )
            created += job.attempts == 0 and job.status == QUEUED
    return created


async def claim(worker_id: str, kinds: list[str]) -> Job | None:
    """Take the next due job (or one whose worker's lease ran out), or None."""
    now = utcnow()
    async with db.service_session() as session:
        due = (
            select(Job.id)
            .where(
                Job.kind.in_(kinds),
                sa.or_(
                    sa.and_(Job.status == QUEUED, Job.run_after <= now),
                    sa.and_(Job.status == RUNNING, Job.lease_until < now),
                ),
            )
            .order_by(Job.run_after)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        claimed = (
            await session.exec(
                sa.update(Job)
                .where(Job.id == due.scalar_subquery())
                .values(
                    status=RUNNING,
                    attempts=Job.attempts + 1,
                    worker_id=worker_id,
                    lease_until=now + timedelta(seconds=60),
                    started_at=sa.func.coalesce(Job.started_at, now),
                )
                .returning(Job.id)
            )
        ).first()
        if claimed is None:
            return None
        job = await session.get(Job, claimed[0])
        lease = registry.spec(job.kind).lease_seconds
        job.lease_until = now + timedelta(seconds=lease)
        return job


async def heartbeat(job_id: uuid.UUID, worker_id: str, lease_seconds: int) -> bool:
    """Extend the lease; False when the job is no longer ours (re-claimed, cancelled)."""
    async with db.service_session() as session:
        result = await session.exec(
            sa.update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == RUNNING)
            .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        )
        return result.rowcount == 1


async def set_progress(job_id: uuid.UUID, progress: dict[str, Any]) -> None:
    async with db.service_session() as session:
        await session.exec(sa.update(Job).where(Job.id == job_id).values(progress=progress))


async def cancel_requested(job_id: uuid.UUID) -> bool:
    async with db.service_session() as session:
        return bool(await session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


async def finish(job_id: uuid.UUID, worker_id: str, result: dict | None) -> None:
    await _end(job_id, worker_id, status=SUCCEEDED, result=result)


async def fail(job_id: uuid.UUID, worker_id: str, message: str) -> None:
    await _end(job_id, worker_id, status=FAILED, error=message[:2000])


async def mark_cancelled(job_id: uuid.UUID, worker_id: str) -> None:
    await _end(job_id, worker_id, status=CANCELLED, error="Cancelled.")


async def retry_later(job: Job, worker_id: str, message: str, delay: float | None = None) -> bool:
    """Put the job back with exponential backoff and jitter; False when attempts are used up."""
    if job.attempts >= job.max_attempts:
        await fail(job.id, worker_id, message)
        return False
    if delay is None:
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (job.attempts - 1))
        delay *= random.uniform(0.5, 1.5)
    async with db.service_session() as session:
        await session.exec(
            sa.update(Job)
            .where(Job.id == job.id, Job.worker_id == worker_id, Job.status == RUNNING)
            .values(
                status=QUEUED,
                lease_until=None,
                run_after=utcnow() + timedelta(seconds=delay),
                error=message[:2000],
            )
        )
    return True


async def request_cancel(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    """Ask a job to stop: a queued job ends at once, a running one at its next checkpoint."""
    job = await session.get(Job, job_id)
    if job is None or job.status in FINISHED:
        return job
    job.cancel_requested = True
    if job.status == QUEUED:
        job.status, job.error, job.finished_at = CANCELLED, "Cancelled.", utcnow()
    return job


async def _end(job_id: uuid.UUID, worker_id: str, **values: Any) -> None:
    async with db.service_session() as session:
        await session.exec(
            sa.update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == RUNNING)
            .values(lease_until=None, finished_at=utcnow(), **values)
        )
