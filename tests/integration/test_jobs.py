"""The durable job runner: leases, retries, dedupe, cancel, deadlines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.errors import BadInput, ProviderError, RateLimited
from assetry.jobs import queue, registry
from assetry.jobs.worker import TOO_LONG, JobContext, Worker
from assetry.models import Job
from assetry.models.base import utcnow

RUNS: list[str] = []
ENDED: list[tuple[str, str]] = []


async def _record_end(job: Job, status: str, message: str) -> None:
    ENDED.append((status, message))


@registry.task("test.echo", on_end=_record_end)
async def echo(ctx: JobContext) -> dict:
    RUNS.append(ctx.payload["behaviour"])
    behaviour = ctx.payload["behaviour"]
    if behaviour == "flaky" and ctx.job.attempts < 3:
        raise ProviderError("The provider had a hiccup.")
    if behaviour == "rate-limited" and ctx.job.attempts < 2:
        raise RateLimited("Slow down.", retry_after=0)
    if behaviour == "always-5xx":
        raise ProviderError("The provider is down. Try again later.")
    if behaviour == "bad":
        raise BadInput("This model can't make 4K video. Pick 1080p.")
    if behaviour == "crash":
        raise ZeroDivisionError
    if behaviour == "slow":
        await ctx.progress(phase="running")
        for _ in range(100):
            await asyncio.sleep(0.05)
            await ctx.checkpoint()
    return {"echo": behaviour}


async def enqueue(behaviour: str, **kwargs) -> Job:
    async with db.service_session() as session:
        return await queue.enqueue(session, "test.echo", {"behaviour": behaviour}, **kwargs)


async def reload(job: Job) -> Job:
    async with db.service_session() as session:
        return await session.get(Job, job.id)


async def make_due(job: Job) -> None:
    async with db.service_session() as session:
        await session.exec(sa.update(Job).where(Job.id == job.id).values(run_after=utcnow()))


def setup_function() -> None:
    RUNS.clear()
    ENDED.clear()


async def test_a_job_runs_once_and_keeps_its_result(database: str) -> None:
    job = await enqueue("ok")
    worker = Worker()
    assert (await worker.run_once()).id == job.id
    assert await worker.run_once() is None
    done = await reload(job)
    assert (done.status, done.result, done.attempts) == ("succeeded", {"echo": "ok"}, 1)
    assert done.finished_at is not None and done.lease_until is None


async def test_transient_errors_are_retried_with_backoff_then_succeed(database: str) -> None:
    job = await enqueue("flaky")
    worker = Worker()
    await worker.run_once()
    waiting = await reload(job)
    assert waiting.status == "queued" and waiting.error == "The provider had a hiccup."
    assert waiting.run_after > utcnow()  # backoff, not an immediate retry
    for _ in range(2):
        await make_due(job)
        await worker.run_once()
    done = await reload(job)
    assert (done.status, done.attempts) == ("succeeded", 3)


async def test_rate_limits_wait_for_retry_after(database: str) -> None:
    job = await enqueue("rate-limited")
    worker = Worker()
    await worker.run_once()
    await worker.run_once()
    assert (await reload(job)).status == "succeeded"


async def test_transient_errors_fail_for_good_after_max_attempts(database: str) -> None:
    job = await enqueue("always-5xx")
    worker = Worker()
    for _ in range(5):
        await make_due(job)
        await worker.run_once()
    failed = await reload(job)
    assert (failed.status, failed.attempts) == ("failed", 5)
    assert failed.error == "The provider is down. Try again later."
    assert ENDED == [("failed", "The provider is down. Try again later.")]
    assert await worker.run_once() is None


async def test_errors_the_user_can_fix_are_not_retried(database: str) -> None:
    job = await enqueue("bad")
    await Worker().run_once()
    failed = await reload(job)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error == "This model can't make 4K video. Pick 1080p."


async def test_a_crash_fails_with_an_apology_and_a_reference(database: str) -> None:
    job = await enqueue("crash")
    await Worker().run_once()
    failed = await reload(job)
    assert failed.status == "failed"
    assert failed.error.startswith("Something went wrong on our side (reference ")


async def test_same_dedupe_key_gives_one_job(database: str) -> None:
    first = await enqueue("ok", dedupe_key="user-1:click-42")
    second = await enqueue("ok", dedupe_key="user-1:click-42")
    assert first.id == second.id
    async with db.service_session() as session:
        assert await session.scalar(select(sa.func.count()).select_from(Job)) == 1


async def test_a_crashed_workers_job_is_claimed_again_after_its_lease(database: str) -> None:
    job = await enqueue("ok")
    crashed = await queue.claim("crashed-worker", registry.kinds())
    assert crashed.id == job.id
    assert await Worker().run_once() is None  # leased: nobody else takes it
    async with db.service_session() as session:
        await session.exec(
            sa.update(Job).where(Job.id == job.id).values(lease_until=utcnow() - timedelta(seconds=1))
        )
    await Worker().run_once()
    done = await reload(job)
    assert (done.status, done.attempts) == ("succeeded", 2)
    assert not await queue.heartbeat(job.id, "crashed-worker", 60)  # the old worker lost it


async def test_two_workers_never_take_the_same_job(database: str) -> None:
    jobs = [await enqueue("ok") for _ in range(6)]
    claims = await asyncio.gather(*(queue.claim(f"w{n}", registry.kinds()) for n in range(6)))
    claimed = [job.id for job in claims if job is not None]
    assert len(claimed) == len(set(claimed))
    assert set(claimed) <= {job.id for job in jobs}


async def test_cancel_a_queued_job_ends_it_at_once(database: str) -> None:
    job = await enqueue("ok")
    async with db.service_session() as session:
        await queue.request_cancel(session, job.id)
    assert (await reload(job)).status == "cancelled"
    assert await Worker().run_once() is None
    assert RUNS == []


async def test_cancel_a_running_job_stops_it_at_its_next_checkpoint(database: str) -> None:
    job = await enqueue("slow")
    stop = asyncio.Event()
    loop = asyncio.create_task(Worker(poll_seconds=0.05).run(stop))
    for _ in range(100):
        if (await reload(job)).progress.get("phase") == "running":
            break
        await asyncio.sleep(0.05)
    async with db.service_session() as session:
        await queue.request_cancel(session, job.id)
    for _ in range(100):
        if (await reload(job)).status == "cancelled":
            break
        await asyncio.sleep(0.05)
    stop.set()
    await loop
    assert (await reload(job)).status == "cancelled"
    assert ENDED == [("cancelled", "Cancelled.")]


async def test_a_job_past_its_deadline_fails_instead_of_running_forever(database: str) -> None:
    job = await enqueue("slow")
    async with db.service_session() as session:
        await session.exec(
            sa.update(Job).where(Job.id == job.id).values(deadline_at=utcnow() + timedelta(seconds=0.3))
        )
    await Worker().run_once()
    failed = await reload(job)
    assert (failed.status, failed.error) == ("failed", TOO_LONG)


@registry.task("test.tick", every_seconds=60)
async def tick(ctx: JobContext) -> dict:
    return {"period": ctx.payload["period"]}


async def test_periodic_tasks_are_enqueued_once_per_period_across_workers(database: str) -> None:
    await asyncio.gather(*(queue.enqueue_periodic(6_000.0 + n) for n in range(4)))  # same minute
    await queue.enqueue_periodic(6_060.0)  # the next minute
    async with db.service_session() as session:
        periods = sorted(
            (await session.exec(select(Job.payload).where(Job.kind == "test.tick"))).all(), key=str
        )
    assert periods == [{"period": 100}, {"period": 101}]
