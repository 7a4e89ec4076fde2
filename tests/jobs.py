"""Background jobs in tests: a real procrastinate worker over the test database, and its rows."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from assetry import db
from assetry.jobs import engine, manifest, queue

ONLY = "tests.only"  # the queue `run_jobs(tasks=...)` moves the chosen jobs to


async def run_jobs(
    *, queues: Iterable[str] | None = None, concurrency: int = 1, tasks: Iterable[str] | None = None
) -> None:
    """Run every due job, and those they queue, until none is left (periodic schedules off).

    With `tasks`: only the jobs of those tasks waiting now, not what they queue (their jobs
    are moved to a queue of their own for the run, then put back)."""
    if tasks is not None:
        tasks = list(tasks)
        async with db.service_session() as session:
            picked = (
                (
                    await session.exec(
                        sa.text(
                            "UPDATE procrastinate_jobs SET queue_name = :only WHERE status = 'todo' "
                            "AND task_name = ANY(:tasks) RETURNING id"
                        ),
                        params={"only": ONLY, "tasks": tasks},
                    )
                )
                .scalars()
                .all()
            )
        queues = [ONLY]
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
    if tasks is not None and picked:
        async with db.service_session() as session:
            for name in tasks:  # back on the task's own queue
                await session.exec(
                    sa.text(
                        "UPDATE procrastinate_jobs SET queue_name = :queue WHERE id = ANY(:ids) AND task_name = :task"
                    ),
                    params={"queue": manifest.spec(name).queue, "ids": list(picked), "task": name},
                )


async def engine_jobs(task_name: str | None = None) -> list[sa.Row]:
    """procrastinate's job rows (id, task_name, status, attempts, args, scheduled_at), oldest first."""
    query = (
        "SELECT id, task_name, status::text AS status, attempts, args, scheduled_at, lock, queueing_lock, "
        "queue_name, priority "
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
