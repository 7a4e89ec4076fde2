"""Where an imitation keeps what it issued (authorization codes, grants, access and refresh tokens)
and what creators published on it.

Each record is a small JSON object filed under a kind ("code", "grant", "access", ...) and a key
(the code or token itself). `MemoryLedger` keeps them in the process, for the imitations tests
build; sandbox mode gives the imitations the app mounts a ledger in the database
(`assetry.services.sandbox_ledger`), so a restart, another web backend or a worker still knows
every grant. Taking a record (`remove`) and flipping a field under a condition (`amend` with
`where`) are atomic, so a code is redeemed and a refresh token rotated once across instances.
"""

from __future__ import annotations

from typing import Any, Protocol

Record = dict[str, Any]


class Ledger(Protocol):
    async def read(self, kind: str, key: str) -> Record | None:
        """The record, or None."""

    async def write(self, kind: str, key: str, record: Record) -> None:
        """File the record (replacing one under the same key)."""

    async def remove(self, kind: str, key: str) -> Record | None:
        """Take the record out; None when it was not there (or another caller took it first)."""

    async def amend(
        self, kind: str, changes: Record, *, key: str | None = None, where: Record | None = None
    ) -> int:
        """Set `changes` on the records of `kind` (only `key`'s when given) whose fields equal
        `where`'s; returns how many changed."""

    async def count(self, kind: str) -> int:
        """How many records of this kind there are."""

    async def every(self, kind: str) -> list[Record]:
        """Every record of this kind, oldest filed first."""


class MemoryLedger:
    """A ledger in this process's memory (one imitation, one process)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Record] = {}

    async def read(self, kind: str, key: str) -> Record | None:
        found = self.records.get((kind, key))
        return dict(found) if found is not None else None

    async def write(self, kind: str, key: str, record: Record) -> None:
        self.records[(kind, key)] = dict(record)

    async def remove(self, kind: str, key: str) -> Record | None:
        return self.records.pop((kind, key), None)

    async def amend(
        self, kind: str, changes: Record, *, key: str | None = None, where: Record | None = None
    ) -> int:
        changed = 0
        for (filed_kind, filed_key), record in self.records.items():
            if filed_kind != kind or (key is not None and filed_key != key):
                continue
            if all(record.get(name) == value for name, value in (where or {}).items()):
                record.update(changes)
                changed += 1
        return changed

    async def count(self, kind: str) -> int:
        return sum(1 for filed_kind, _ in self.records if filed_kind == kind)

    async def every(self, kind: str) -> list[Record]:
        return [dict(record) for (filed_kind, _), record in self.records.items() if filed_kind == kind]
