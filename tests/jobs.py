"""Background jobs in tests: a real procrastinate worker over the test database, and its rows."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from assetry import db
from assetry.jobs import engine, queue


async def run_jobs(*, queues: Iterable[str] | None = None, concurrency: int = 1) -> None:
    """Run every due job, and those they queue, until none is left (periodic schedules off)."""
    app = engine.build_app()
    app.periodic_registry.periodic_tasks.clear()
    async with app.open_async():
        await app.run_worker_async(
            queues=list(queues) if queues else None,
            wait=False,
            concurrency=concurrency,
            install_signal_handlers=False,
            listen_notify=False,
        )


async def engine_jobs(task_name: str | None = None) -> list[sa.Row]:
    """procrastinate's job rows (id, task_name, status, attempts, args, scheduled_at), oldest first."""
    query = (
        "SELECT id, task_name, status::text AS status, attempts, args, scheduled_at, lock, queue_name, priority "
        "FROM procrastinate_jobs WHERE (CAST(:task AS text) IS NULL OR task_name = :task) ORDER BY id"
    )
    async with db.service_session() as session:
        return list((await session.exec(sa.text(query), params={"task": task_name})).all())


async def make_due() -> None:
    """Jobs scheduled for later become due now (time passing, for a test)."""
    async with db.service_session() as session:
        await session.exec(
            sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
        )


async def queued_job(kind: str, payload: dict, *, status: str = "todo") -> int:
    """A job queued the way a service queues it, then put in `status` (as a worker would leave it)."""
    async with db.service_session() as session:
        job_id = await queue.enqueue(session, kind, payload)
        await session.exec(
            sa.text(
                "UPDATE procrastinate_jobs SET status = CAST(:status AS procrastinate_job_status), "
                "attempts = CASE WHEN :status = 'todo' THEN 0 ELSE 1 END WHERE id = :id"
            ),
            params={"status": status, "id": job_id},
        )
    return job_id
