"""The procrastinate app built from the manifest, the wrapper every task runs in, the worker.

How a job ends is decided here, once for every task:
- success: the task's return value (procrastinate marks the job succeeded);
- `Fail`, bad input, a refused permission or an expired token: failed at once, no retry;
- `Retry`, a rate limit, a provider error or a lost database connection: retried with backoff
  until its attempts are used;
- any other error: failed with a message naming a log reference, never retried (no storm);
- cancelled by the user: aborted;
- past its time limit: failed.
Whenever a job ends without success its task's `on_end` hook tells the domain row.

The worker outlives the database: when it goes away (a restart, a network cut) procrastinate's
worker stops, and `run_worker` starts a new one once the database answers again. The jobs the
stopped one was running run again at once (each task is idempotent), not after the stalled-job
sweep's 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Iterable
from typing import Any

import psycopg
import sqlalchemy as sa
from procrastinate import App, JobContext, PsycopgConnector, RetryDecision
from procrastinate import exceptions as engine_errors
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job, Status
from procrastinate.retry import BaseRetryStrategy
from procrastinate.worker import Worker

from assetry import db
from assetry.config import get_settings
from assetry.errors import AuthExpired, BadInput, NotAllowed, ProviderError, RateLimited
from assetry.jobs import manifest, queue
from assetry.jobs.task import Cancelled, Context, Fail, Retry
from assetry.services import providers

log = logging.getLogger(__name__)

FAILED, CANCELLED = "failed", "cancelled"
PERMANENT = (Fail, BadInput, NotAllowed, AuthExpired)
# A database connection lost mid-task (a restart) is transient too: the rerun resumes.
DATABASE_GONE = (psycopg.OperationalError, sa.exc.OperationalError, engine_errors.ConnectorException)
TRANSIENT = (Retry, RateLimited, ProviderError, *DATABASE_GONE)
BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS = 2.0, 300.0
TOO_LONG = "This took longer than allowed and was stopped. Try again, or pick a faster option."
RETRY_STALLED = "jobs.retry_stalled"

dropped_for_deleted_users = 0  # jobs this process dropped because their user is gone


def unexpected_error_message(reference: str) -> str:
    return f"Something went wrong on our side (reference {reference}). Please try again."


class _Backoff(BaseRetryStrategy):
    """Transient errors run again (after the error's own delay, else exponential backoff with
    jitter) until `max_attempts` runs; every other error ends the job."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, TRANSIENT) or job.attempts + 1 >= self.max_attempts:
            return None
        delay = getattr(exception, "delay", None)
        if delay is None:
            delay = getattr(exception, "retry_after", None)
        if delay is None:
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**job.attempts)
            delay *= random.uniform(0.5, 1.5)
        return RetryDecision(retry_in={"seconds": delay})


def build_app(tasks: Iterable[manifest.Spec] = manifest.TASKS) -> App:
    """A procrastinate app with these tasks (the manifest's) and the engine's own upkeep."""
    # Its pool serves the worker's fetches, heartbeats, deleted-user checks and job endings at
    # once: one connection would make each wait for the others (a job's start behind a fetch).
    settings = get_settings()
    pool_size = settings.job_concurrency + settings.job_interactive_slots + 2
    connector = PsycopgConnector(conninfo=db.psycopg_conninfo(), min_size=2, max_size=pool_size)
    app = App(connector=connector)
    for spec in tasks:
        _register(app, spec)
    for spec in _built_in():
        _register(app, spec)
    return app


def stalled_after_seconds() -> float:
    """How long a worker may stay silent before it counts as dead (JOB_STALLED_AFTER_SECONDS)."""
    return get_settings().job_stalled_after_seconds


def _sweep_cron(stalled_after: float) -> str:
    """Each minute; each `stalled_after` seconds when that is shorter (croniter's 6th field: seconds)."""
    every = int(stalled_after)
    return "* * * * *" if every >= 60 else f"* * * * * */{every}"


def _register(app: App, spec: manifest.Spec) -> None:
    async def run(context: JobContext, **payload: Any) -> Any:
        payload.pop("timestamp", None)  # periodic tasks get their schedule's time
        return await execute(spec, context, payload)

    task = app.task(
        name=spec.name,
        queue=spec.queue,
        priority=spec.priority,
        retry=_Backoff(spec.max_attempts),
        pass_context=True,
    )(run)
    if spec.cron:
        app.periodic(cron=spec.cron, queueing_lock=spec.name)(task)


async def execute(spec: manifest.Spec, context: JobContext | None, payload: dict[str, Any]) -> Any:
    """Run one task for one job and tell its domain row how it ended."""
    global dropped_for_deleted_users
    db.in_job.set(True)  # this job's own task: what it sends is not counted as a page's
    job = context.job if context else None
    ctx = Context(payload, job.id if job else 0, (job.attempts + 1) if job else 1, context)
    if payload.get("user_id") and not await _user_exists(context, payload["user_id"]):
        dropped_for_deleted_users += 1
        log.info("dropped %s job %s: its user is deleted (%d so far)", spec.name, ctx.job_id,
                 dropped_for_deleted_users)  # fmt: skip
        return None
    try:
        async with asyncio.timeout(spec.timeout_seconds):
            return await spec.run(ctx)
    except Cancelled:
        await _ended(spec, payload, CANCELLED, "Cancelled.", ctx.job_id)
        raise engine_errors.JobAborted from None
    except asyncio.CancelledError:
        if context is not None and context.abort_reason() == AbortReason.USER_REQUEST:
            await asyncio.shield(_ended(spec, payload, CANCELLED, "Cancelled.", ctx.job_id))
        raise
    except PERMANENT as error:
        await _ended(spec, payload, FAILED, str(error), ctx.job_id)
        raise
    except TRANSIENT as error:
        if ctx.attempt >= spec.max_attempts:
            await _ended(spec, payload, FAILED, str(error), ctx.job_id)
        raise
    except TimeoutError:
        await _ended(spec, payload, FAILED, TOO_LONG, ctx.job_id)
        raise Fail(TOO_LONG) from None
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("job %s (%s) crashed; reference %s", ctx.job_id, spec.name, reference)
        await _ended(spec, payload, FAILED, unexpected_error_message(reference), ctx.job_id)
        raise


async def _ended(
    spec: manifest.Spec, payload: dict[str, Any], status: str, message: str, job_id: int
) -> None:
    try:
        if spec.forget_args and job_id:  # what it was given must not outlive the job
            async with db.service_session() as session:
                await queue.forget_payload(session, job_id)
        if spec.on_end is not None:
            await spec.on_end(payload, status, message)
    except Exception:
        log.exception("the end hook of a %s job failed", spec.name)


async def _user_exists(context: JobContext, user_id: str) -> bool:
    """Asked on the engine's own connection (one query, no session to set up: it runs on every job)."""
    row = await context.app.connector.execute_query_one_async(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = %(id)s) AS found", id=user_id
    )
    return bool(row["found"])


async def _retry_stalled(ctx: Context) -> dict:
    return await retry_stalled(ctx.engine.app)


async def retry_stalled(app: App, *, seconds_since_heartbeat: float | None = None) -> dict:
    """Jobs of a worker that stopped sending heartbeats (killed) run again, or fail when their
    attempts are used; each task is idempotent, so a rerun resumes and pays nothing twice."""
    retried = failed = 0
    silent = stalled_after_seconds() if seconds_since_heartbeat is None else seconds_since_heartbeat
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=silent):
        spec = _spec(job.task_name)
        if job.attempts + 1 >= spec.max_attempts:
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            await _ended(
                spec,
                dict(job.task_kwargs),
                FAILED,
                "The worker running this stopped; no attempts left.",
                job.id,
            )
            failed += 1
        else:
            await app.job_manager.retry_job(job)
            retried += 1
    if retried or failed:
        log.warning("stalled jobs: %d run again, %d failed", retried, failed)
    return {"retried": retried, "failed": failed}


def _built_in() -> tuple[manifest.Spec, ...]:
    cron = _sweep_cron(stalled_after_seconds())
    return (manifest.Spec(RETRY_STALLED, _retry_stalled, manifest.BULK, cron=cron),)


def _spec(name: str) -> manifest.Spec:
    return next((spec for spec in _built_in() if spec.name == name), None) or manifest.spec(name)


RESTART_SECONDS = (0.5, 1.0, 2.0, 5.0)
RAN_WELL_SECONDS = 60.0  # a worker that ran this long before stopping starts again at once


async def run_worker(
    *,
    queues: Iterable[str] | None = None,
    concurrency: int | None = None,
    tasks: Iterable[manifest.Spec] = manifest.TASKS,
    **options: Any,
) -> None:
    """Run jobs until cancelled (the web process's lifespan task, or `python -m assetry worker`).

    procrastinate's worker stops when its database connections fail (its listener, heartbeat or
    fetch); a new one starts, after a pause that grows while the database stays away, and the
    stopped one's jobs run again first."""
    failures, restarted = 0, False
    left_behind: list[int] = []  # stopped workers still registered (they could not say goodbye)
    # Off the event loop, and before any job: a job importing an SDK would block the loop (and a
    # web process's tabs) for seconds, and a loop waiting on a thread's import lock would too.
    await asyncio.to_thread(providers.load_sdks)
    while True:
        app = build_app(tasks)
        workers = _workers(app, queues, concurrency or get_settings().job_concurrency, options)
        started = asyncio.get_running_loop().time()
        try:
            async with app.open_async():
                if restarted:
                    await _rerun_left_behind(app, left_behind)
                    left_behind = []
                await _run_together(workers)
            stopped: BaseException | str = "one of its connections failed"
        except DATABASE_GONE as error:
            stopped = error
        except Exception as error:  # a bug must not end job processing for good
            log.exception("the job worker crashed")
            stopped = error
        restarted = True
        left_behind += [worker.worker_id for worker in workers if worker.worker_id is not None]
        failures = 0 if asyncio.get_running_loop().time() - started > RAN_WELL_SECONDS else failures + 1
        delay = RESTART_SECONDS[min(failures, len(RESTART_SECONDS)) - 1] if failures else 0.0
        log.warning("the job worker stopped (%s); starting again in %.1f s", stopped, delay)
        await asyncio.sleep(delay)


def _workers(app: App, queues: Iterable[str] | None, concurrency: int, options: dict) -> list[Worker]:
    """The worker of the queues asked (all by default) and, when it serves the interactive queue
    beside others, one with `JOB_INTERACTIVE_SLOTS` slots for that queue alone: the first takes
    interactive jobs first (their priority), but bulk jobs may hold all its slots."""
    queues = list(queues) if queues else None
    reserved = get_settings().job_interactive_slots
    shared = queues is None or (manifest.INTERACTIVE in queues and len(set(queues)) > 1)
    asked = [(queues, concurrency)] + ([([manifest.INTERACTIVE], reserved)] if shared and reserved else [])
    return [
        Worker(
            app=app,
            queues=served,
            concurrency=slots,
            update_heartbeat_interval=stalled_after_seconds() / 3,
            stalled_worker_timeout=stalled_after_seconds(),
            install_signal_handlers=False,
            **options,
        )
        for served, slots in asked
    ]


async def _run_together(workers: list[Worker]) -> None:
    """Run the workers until one stops (a connection failed, or a bug); then stop the others too."""
    runs = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        done, _ = await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for run in runs:
            # Not twice: a second cancel would cut short its shutdown (jobs handed back, its row
            # gone), as when asyncio.run, on SIGTERM, cancels every task itself.
            if not run.cancelling():
                run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
    for run in done:
        run.result()  # a stopped worker's error, if it raised one


async def _rerun_left_behind(app: App, worker_ids: list[int]) -> None:
    """The jobs stopped workers of this process were running run again now: their rows go (their
    jobs then belong to no worker, which is what a stalled job is) and the sweep runs at once."""
    for worker_id in worker_ids:
        await app.job_manager.unregister_worker(worker_id)
    await retry_stalled(app)
