"""An unexpected handler error: an apology with a reference for the user, an error event for us."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from assetry import db
from assetry.models import UsageEvent
from assetry.state.errors import _pending, on_backend_error


async def test_errors_are_recorded_with_the_reference_the_user_sees(database: str) -> None:
    spec = on_backend_error(ZeroDivisionError("boom"))
    message = str(spec)
    assert "Something went wrong on our side (reference " in message
    reference = message.split("(reference ", 1)[1][:8]
    await asyncio.gather(*_pending)
    async with db.service_session() as session:
        [event] = (await session.exec(select(UsageEvent))).all()
    assert (event.kind, event.name, event.detail) == ("error", "ZeroDivisionError", f"reference {reference}")
    assert "boom" not in message  # no internals shown to the user
