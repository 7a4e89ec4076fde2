"""The audit log: append-only records of who did what to whom."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.models import AuditEntry


def record(
    session: AsyncSession, *, actor_id: uuid.UUID | None, action: str, target: str = "", detail: str = ""
) -> None:
    """Add an audit entry to the (service) session's transaction."""
    session.add(AuditEntry(actor_id=actor_id, action=action, target=target[:200], detail=detail[:2000]))
