"""Task functions by job kind, and the errors a task raises to steer retries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assetry.jobs.worker import JobContext
    from assetry.models.jobs import Job

TaskFunction = Callable[["JobContext"], Awaitable[dict | None]]
# Called once a job ends without success, with the job, its status (failed or cancelled) and message.
EndHook = Callable[["Job", str, str], Awaitable[None]]


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    run: TaskFunction
    lease_seconds: int
    max_attempts: int
    deadline_seconds: int
    on_end: EndHook | None = None
    # Periodic tasks are enqueued by the workers themselves, once per period across all workers.
    every_seconds: int | None = None


_TASKS: dict[str, TaskSpec] = {}


def task(
    kind: str,
    *,
    lease_seconds: int = 60,
    max_attempts: int = 5,
    deadline_seconds: int = 1800,
    on_end: EndHook | None = None,
    every_seconds: int | None = None,
) -> Callable[[TaskFunction], TaskFunction]:
    """Register an idempotent task function under a job kind (run every N seconds if `every_seconds`)."""

    def register(run: TaskFunction) -> TaskFunction:
        _TASKS[kind] = TaskSpec(
            kind, run, lease_seconds, max_attempts, deadline_seconds, on_end, every_seconds
        )
        return run

    return register


def spec(kind: str) -> TaskSpec:
    if kind not in _TASKS:
        raise KeyError(f"no task registered for job kind {kind!r}")
    return _TASKS[kind]


def kinds() -> list[str]:
    return sorted(_TASKS)


def periodic() -> list[TaskSpec]:
    return [spec for spec in _TASKS.values() if spec.every_seconds]


class Retry(Exception):
    """Transient failure: run the job again later (after `delay` seconds if given)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class Fail(Exception):
    """Permanent failure with a message the user can act on; no retry."""


class Cancelled(Exception):
    """The user cancelled the job while it ran."""
