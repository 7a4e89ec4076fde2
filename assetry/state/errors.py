"""What a user sees when an event goes wrong: a request we can't read, or a failure of ours.

An event whose arguments do not fit its handler (missing, unknown, of the wrong type) is
bad input, not our failure: `ArgumentCheck` refuses it before any handler runs, with a
plain message, logged at info. An unexpected error in a handler is logged with its
traceback and recorded as a usage error event (the technical data the privacy policy
names), and the user gets an apology with a reference that ties the two together.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import typing
import uuid
from collections.abc import Callable
from typing import Any

import pydantic
import reflex as rx
from reflex.event import EventSpec
from reflex.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base.event import Event
from reflex_base.registry import RegistrationContext

from assetry.services import usage

log = logging.getLogger("assetry.errors")
_pending: set[asyncio.Task] = set()
NOT_UNDERSTOOD = "That request was not understood. Reload the page and try again."


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


@functools.cache
def _parameters(fn: Callable) -> tuple[inspect.Signature, dict[str, Any]]:
    """A handler's signature (without `self`) and its resolvable type hints."""
    signature = inspect.signature(fn)
    signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an unresolvable hint: the arguments' names are still checked
        hints = {}
    return signature, {name: hint for name, hint in hints.items() if name in signature.parameters}


@functools.cache
def _adapter(hint: Any) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(hint)


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value` is of the type `hint` names (a string Reflex turns into a number or bool counts)."""
    if hint is Any:
        return True
    try:
        _adapter(hint).validate_python(value, strict=True)
    except pydantic.ValidationError:
        if not isinstance(value, str):
            return False
        try:  # Reflex itself turns "3" into 3 for an `int` argument
            _adapter(hint).validate_python(value)
        except pydantic.ValidationError:
            return False
    except Exception:  # a hint pydantic can't check: leave it to the handler
        return True
    return True


def misfit(event: Event) -> str:
    """Why the event's arguments don't fit its handler ("" when they do)."""
    registered = RegistrationContext.get().event_handlers.get(event.name)
    if registered is None:
        return ""  # Reflex answers an unknown event itself
    if not isinstance(event.payload, dict):
        return "the arguments are not named"
    signature, hints = _parameters(registered.handler.fn)
    try:
        signature.bind(**event.payload)
    except TypeError as problem:
        return str(problem)
    wrong = [name for name, value in event.payload.items() if name in hints and not _fits(value, hints[name])]
    return f"wrong type for {', '.join(wrong)}" if wrong else ""


class ArgumentCheck(Middleware):
    """Before every event: refuse, as bad input, arguments that do not fit the handler."""

    async def preprocess(self, app: rx.App, state: BaseState, event: Event) -> StateUpdate | None:
        problem = misfit(event)
        if not problem:
            return None
        log.info("refused %s: %s", event.name, problem)
        return StateUpdate(events=Event.from_event_type(rx.toast.error(NOT_UNDERSTOOD, id="bad-request")))
