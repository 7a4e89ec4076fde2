"""What a task function sees of its job, and the errors a task raises to steer retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procrastinate import JobContext


class Retry(Exception):
    """Transient failure: run the job again later (after `delay` seconds if given)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class Fail(Exception):
    """Permanent failure with a message the user can act on; no retry."""


class Cancelled(Exception):
    """The user cancelled the job while it ran."""


@dataclass
class Context:
    """A running job: its payload, its engine id and attempt, and the cancellation check."""

    payload: dict[str, Any]
    job_id: int = 0
    attempt: int = 1  # 1 the first time, 2 after one retry ...
    engine: JobContext | None = field(default=None, repr=False)

    async def checkpoint(self) -> None:
        """Stop here if the user cancelled the job."""
        if self.engine is not None and self.engine.should_abort():
            raise Cancelled
