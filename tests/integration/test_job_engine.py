"""The job engine (procrastinate on the real test Postgres): queues, locks, schedules, failures."""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from procrastinate.periodic import PeriodicDeferrer

from assetry import db
from assetry.config import get_settings
from assetry.jobs import engine, manifest, queue
from assetry.jobs.task import Context
from assetry.models import ConnectedAccount, Generation, SyncRun
from assetry.services import connections, studio, tracking
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, run_jobs


async def new_user(email: str = "maya@example.com") -> uuid.UUID:
    form = SignUp(email=email, password="Correct-Horse-42", age_confirmed=True, accepted_policies=True)
    user, _ = await create_account(form)
    return user.id


async def new_account(user_id: uuid.UUID) -> uuid.UUID:
    async with db.service_session() as session:
        account = ConnectedAccount(user_id=user_id, platform="tiktok", platform_account_id=uuid.uuid4().hex)
        session.add(account)
    return account.id


async def queue_sync(user_id: uuid.UUID, account_id: uuid.UUID) -> bool:
    async with db.service_session() as session:
        return await connections.queue_sync(session, user_id, account_id)


async def next_fetched(app) -> str | None:
    """The task of the job a worker serving every queue takes next (and marks as running)."""
    worker_id = await app.job_manager.register_worker()
    job = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
    return job.task_name if job else None


async def test_two_syncs_of_one_account_never_run_at_once(database: str) -> None:
    user_id = await new_user()
    account_id, other_account = await new_account(user_id), await new_account(user_id)
    assert await queue_sync(user_id, account_id) is True
    assert await queue_sync(user_id, account_id) is False  # one waits already: a second click adds nothing
    assert {a.id for a, busy in await connections.accounts_and_syncs(user_id) if busy} == {account_id}
    app = engine.build_app()
    async with app.open_async():
        assert await next_fetched(app) == connections.SYNC_TASK  # the first sync is now running
        assert await queue_sync(user_id, account_id) is True  # a scheduled one may wait behind it
        assert await queue_sync(user_id, other_account) is True
        # The account's lock is held: the worker takes the other account's sync, not this one.
        worker_id = await app.job_manager.register_worker()
        taken = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
        assert taken.task_kwargs["account_id"] == str(other_account)
        assert await app.job_manager.fetch_job(queues=None, worker_id=worker_id) is None
    async with db.service_session() as session:
        runs = (await session.exec(sa.select(SyncRun.account_id))).scalars().all()
    assert sorted(map(str, runs)) == sorted(map(str, [account_id, account_id, other_account]))


async def test_a_generation_is_taken_before_a_thousand_waiting_syncs(database: str) -> None:
    user_id = await new_user()
    accounts_ = [await new_account(user_id) for _ in range(10)]
    async with db.service_session() as session:
        for i in range(1_000):
            account_id = accounts_[i % 10]
            await queue.enqueue(session, connections.SYNC_TASK, {"account_id": str(account_id), "n": i})
    request = studio.StudioRequest(kind="image", prompt="a cat", model_key="offline:preview-image",
                                   aspect_ratio="1:1")  # fmt: skip
    await studio.start(user_id, request, client_request_id="late")  # queued after the 1,000 syncs
    app = engine.build_app()
    async with app.open_async():
        assert await next_fetched(app) == studio.TASK
        assert await next_fetched(app) == connections.SYNC_TASK
    jobs = await engine_jobs()
    assert {(job.queue_name, job.priority) for job in jobs if job.task_name == studio.TASK} == {
        (manifest.INTERACTIVE, 10)
    }
    assert {(job.queue_name, job.priority) for job in jobs if job.task_name == connections.SYNC_TASK} == {
        (manifest.BULK, 0)
    }


async def test_a_generation_runs_while_bulk_jobs_hold_every_shared_slot(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three long bulk jobs and a worker of two slots: both slots are held, yet a generation queued
    after them runs at once, in the slot the worker keeps for the interactive queue."""
    monkeypatch.setenv("JOB_INTERACTIVE_SLOTS", "1")
    get_settings.cache_clear()
    held, release = [], asyncio.Event()

    async def hold(ctx: Context) -> None:
        held.append(ctx.payload["n"])
        await release.wait()

    holding = manifest.Spec("test.hold", hold, manifest.BULK, max_attempts=1)
    user_id = await new_user()
    app = engine.build_app([holding])
    async with app.open_async():
        for n in range(3):
            await app.configure_task(holding.name).defer_async(n=n)
    worker = asyncio.create_task(engine.run_worker(concurrency=2, tasks=[*manifest.TASKS, holding]))
    try:
        await _within(lambda: len(held) == 2, what="two bulk jobs to hold both shared slots")
        generation = await studio.start(user_id, _image(), client_request_id="while-held")
        await _within(
            lambda: _status(generation.id, "succeeded"), what="the generation to run beside the held slots"
        )
        assert len(held) == 2  # the third bulk job still waits: the reserved slot is not for it
    finally:
        release.set()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def _status(generation_id: uuid.UUID, status: str) -> bool:
    async with db.service_session() as session:
        return (await session.get(Generation, generation_id)).status == status


async def _within(check, *, what: str, seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not (await result if inspect.isawaitable(result := check()) else result):
        assert asyncio.get_running_loop().time() < deadline, f"waited {seconds:.0f} s for {what}"
        await asyncio.sleep(0.05)


def _image() -> studio.StudioRequest:
    return studio.StudioRequest(
        kind="image", prompt="a cat", model_key="offline:preview-image", aspect_ratio="1:1"
    )


async def test_periodic_tasks_are_queued_once_per_period_however_many_workers(database: str) -> None:
    app = engine.build_app()
    scheduled = {task.task.name for task in app.periodic_registry.periodic_tasks.values()}
    assert {
        "analytics.schedule_syncs",
        "retention.logs",
        "retention.accounts",
        engine.RETRY_STALLED,
    } <= scheduled
    at = datetime(2026, 12, 6, 12, 0, 30, tzinfo=UTC).timestamp()
    async with app.open_async():
        for _worker in range(2):  # two workers, each with its own deferrer, at the same moment
            deferrer = PeriodicDeferrer(app.periodic_registry, max_delay=10**9)
            await deferrer.defer_jobs(deferrer.get_previous_tasks(at=at))
    names = [job.task_name for job in await engine_jobs()]
    assert sorted(names) == sorted(scheduled)  # one job each, not two


async def test_an_unexpected_error_fails_once_with_a_message_and_no_retry(database: str) -> None:
    told: list[tuple[str, str]] = []

    async def crash(_ctx: Context) -> None:
        raise RuntimeError("a bug")

    async def ended(_payload: dict, status: str, message: str) -> None:
        told.append((status, message))

    spec = manifest.Spec("test.crash", crash, manifest.BULK, max_attempts=5, on_end=ended)
    app = engine.build_app([spec])
    app.periodic_registry.periodic_tasks.clear()
    async with app.open_async():
        await app.configure_task("test.crash").defer_async()
        await app.run_worker_async(wait=False, install_signal_handlers=False, listen_notify=False)
    assert [(job.status, job.attempts) for job in await engine_jobs("test.crash")] == [("failed", 1)]
    [(status, message)] = told
    assert status == "failed" and "Something went wrong on our side (reference " in message


async def test_a_job_for_a_deleted_user_is_dropped_and_logged_by_count(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    gone = uuid.uuid4()
    async with db.service_session() as session:
        for _ in range(2):
            await queue.enqueue(session, tracking.FETCH_TASK, {"ids": [str(uuid.uuid4())]}, user_id=gone)
    before = engine.dropped_for_deleted_users
    with caplog.at_level(logging.INFO, logger=engine.__name__):
        await run_jobs()
    assert engine.dropped_for_deleted_users == before + 2
    assert [job.status for job in await engine_jobs(tracking.FETCH_TASK)] == ["succeeded", "succeeded"]
    dropped = [r.getMessage() for r in caplog.records if "its user is deleted" in r.getMessage()]
    assert [message.rsplit("(", 1)[1] for message in dropped] == [
        f"{before + 1} so far)",
        f"{before + 2} so far)",
    ]
    assert all(str(gone) not in message for message in dropped)  # the log names the job, not the person


async def test_cancelling_a_waiting_generation_is_confirmed_at_once(database: str) -> None:
    user_id = await new_user()
    request = studio.StudioRequest(kind="image", prompt="a cat", model_key="offline:preview-image",
                                   aspect_ratio="1:1")  # fmt: skip
    started = await studio.start(user_id, request, client_request_id="c")
    assert (await studio.cancel(user_id, started.id)).status == "cancelled"
    assert [job.status for job in await engine_jobs(studio.TASK)] == ["cancelled"]
    await run_jobs()
    async with db.service_session() as session:
        assert (await session.get(Generation, started.id)).status == "cancelled"
