"""What a user sees when an event handler fails unexpectedly: a short apology with a reference.

The error is logged with its traceback and recorded as a usage error event (the
technical data the privacy policy names); the reference ties the two together.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import reflex as rx
from reflex.event import EventSpec

from assetry.services import usage

log = logging.getLogger("assetry.errors")
_pending: set[asyncio.Task] = set()


def on_backend_error(exception: Exception) -> EventSpec:
    """Reflex's backend exception handler: log, record, apologise with a reference."""
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected error, reference %s", reference, exc_info=exception)
    try:
        task = asyncio.get_running_loop().create_task(
            usage.record(usage.ERROR, type(exception).__name__, detail=f"reference {reference}")
        )
    except RuntimeError:  # no running loop: logging is all we can do
        pass
    else:
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    return rx.toast.error(
        f"Something went wrong on our side (reference {reference}). Please try again in a moment.",
        id="backend-error",
    )
