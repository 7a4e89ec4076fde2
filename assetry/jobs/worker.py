"""The worker loop: claim due jobs, run their tasks under a lease, record how they ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from assetry.errors import AuthExpired, BadInput, NotAllowed, ProviderError, RateLimited
from assetry.jobs import queue, registry
from assetry.models.base import utcnow
from assetry.models.jobs import CANCELLED, FAILED, Job

log = logging.getLogger(__name__)

PERIODIC_CHECK_SECONDS = 15.0
TOO_LONG = "This took longer than allowed and was stopped. Try again, or pick a faster option."


@dataclass
class JobContext:
    """What a task sees of its job: the payload, progress reports and cancellation checks."""

    job: Job
    worker_id: str

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    async def progress(self, **values: Any) -> None:
        """Publish live progress (phase, queue position, ...) for the page to show."""
        await queue.set_progress(self.job.id, values)

    async def checkpoint(self) -> None:
        """Stop here if the user cancelled the job."""
        if await queue.cancel_requested(self.job.id):
            raise registry.Cancelled


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs up to `concurrency` jobs at once in this process."""

    def __init__(self, *, concurrency: int = 4, poll_seconds: float = 0.5, worker_id: str | None = None):
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or new_worker_id()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Claim and run jobs until `stop` is set (or forever)."""
        stop = stop or asyncio.Event()
        running: set[asyncio.Task] = set()
        next_periodic = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_periodic:
                    next_periodic = time.monotonic() + PERIODIC_CHECK_SECONDS
                    try:
                        await queue.enqueue_periodic(time.time())
                    except Exception:
                        log.exception("enqueueing periodic jobs failed")
                job = None
                if len(running) < self.concurrency:
                    try:
                        job = await queue.claim(self.worker_id, registry.kinds())
                    except Exception:  # a database hiccup must not kill the loop
                        log.exception("claiming a job failed")
                if job is not None:
                    task = asyncio.create_task(self.execute(job))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def run_once(self) -> Job | None:
        """Claim one due job and run it to its end (tests and the CLI use this)."""
        job = await queue.claim(self.worker_id, registry.kinds())
        if job is not None:
            await self.execute(job)
        return job

    async def execute(self, job: Job) -> None:
        spec = registry.spec(job.kind)
        if job.cancel_requested:
            await self._end_without_success(job, spec, CANCELLED, "Cancelled.")
            return
        remaining = (job.deadline_at - utcnow()).total_seconds()
        if remaining <= 0:
            await self._end_without_success(job, spec, FAILED, TOO_LONG)
            return
        beat = asyncio.create_task(self._keep_lease(job, spec.lease_seconds))
        try:
            result = await asyncio.wait_for(spec.run(JobContext(job, self.worker_id)), remaining)
        except registry.Cancelled:
            await self._end_without_success(job, spec, CANCELLED, "Cancelled.")
        except (registry.Fail, BadInput, NotAllowed, AuthExpired) as error:
            await self._end_without_success(job, spec, FAILED, str(error))
        except (registry.Retry, RateLimited, ProviderError) as error:
            delay = getattr(error, "delay", None) or getattr(error, "retry_after", None)
            if not await queue.retry_later(job, self.worker_id, str(error), delay):
                await self._after_end(job, spec, FAILED, str(error))
        except TimeoutError:
            await self._end_without_success(job, spec, FAILED, TOO_LONG)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("job %s (%s) crashed; reference %s", job.id, job.kind, reference)
            message = f"Something went wrong on our side (reference {reference}). Please try again."
            await self._end_without_success(job, spec, FAILED, message)
        else:
            await queue.finish(job.id, self.worker_id, result)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _keep_lease(self, job: Job, lease_seconds: int) -> None:
        while True:
            await asyncio.sleep(max(1.0, lease_seconds / 3))
            if not await queue.heartbeat(job.id, self.worker_id, lease_seconds):
                return

    async def _end_without_success(
        self, job: Job, spec: registry.TaskSpec, status: str, message: str
    ) -> None:
        if status == CANCELLED:
            await queue.mark_cancelled(job.id, self.worker_id)
        else:
            await queue.fail(job.id, self.worker_id, message)
        await self._after_end(job, spec, status, message)

    async def _after_end(self, job: Job, spec: registry.TaskSpec, status: str, message: str) -> None:
        if spec.on_end is not None:
            try:
                await spec.on_end(job, status, message)
            except Exception:
                log.exception("on_end hook of job %s (%s) failed", job.id, job.kind)
