"""The sandbox imitations' ledger in the database (`sandbox_records`), for sandbox mode.

Every web backend and worker mounts its own imitation of TikTok and Instagram; with their codes,
grants, tokens and the posts published in the sandbox here, a consent given through one backend
is redeemed on another, a post published through one is synced by any, and a restart does not
turn sandbox accounts into "needs reconnect" nor forget a post. Keys are filed by their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Jsonb

from assetry import db

Record = dict[str, Any]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class DatabaseLedger:
    """One platform's records in `sandbox_records` (a `assetry.sandbox.ledger.Ledger`)."""

    def __init__(self, platform: str) -> None:
        self.platform = platform

    async def read(self, kind: str, key: str) -> Record | None:
        return await self._one("SELECT record FROM sandbox_records", kind, key)

    async def write(self, kind: str, key: str, record: Record) -> None:
        async with db.service_session() as session:
            await session.exec(
                sa.text(
                    "INSERT INTO sandbox_records (platform, kind, key_hash, record, created_at) "
                    "VALUES (:platform, :kind, :key_hash, CAST(:record AS jsonb), now()) "
                    "ON CONFLICT (platform, kind, key_hash) DO UPDATE SET record = excluded.record"
                ),
                params=self._where(kind, key) | {"record": json.dumps(record)},
            )

    async def remove(self, kind: str, key: str) -> Record | None:
        return await self._one("DELETE FROM sandbox_records", kind, key, returning=True)

    async def amend(
        self, kind: str, changes: Record, *, key: str | None = None, where: Record | None = None
    ) -> int:
        params = {
            "platform": self.platform,
            "kind": kind,
            "changes": json.dumps(changes),
            "where": json.dumps(where or {}),
        }
        one = ""
        if key is not None:
            one = "AND key_hash = :key_hash "
            params["key_hash"] = _hash(key)
        async with db.service_session() as session:
            result = await session.exec(
                sa.text(
                    "UPDATE sandbox_records SET record = record || CAST(:changes AS jsonb) "
                    f"WHERE platform = :platform AND kind = :kind {one}AND record @> CAST(:where AS jsonb)"
                ),
                params=params,
            )
            return result.rowcount

    async def count(self, kind: str) -> int:
        async with db.service_session() as session:
            return await session.scalar(
                sa.text("SELECT count(*) FROM sandbox_records WHERE platform = :platform AND kind = :kind"),
                params={"platform": self.platform, "kind": kind},
            )

    async def every(self, kind: str) -> list[Record]:
        async with db.service_session() as session:
            found = await session.exec(
                sa.text(
                    "SELECT record FROM sandbox_records WHERE platform = :platform AND kind = :kind "
                    "ORDER BY created_at"
                ),
                params={"platform": self.platform, "kind": kind},
            )
            return [record for (record,) in found]

    async def _one(self, statement: str, kind: str, key: str, *, returning: bool = False) -> Record | None:
        """Run `statement` on the one record of `kind` filed under `key`; its record, or None."""
        where = " WHERE platform = :platform AND kind = :kind AND key_hash = :key_hash"
        async with db.service_session() as session:
            return await session.scalar(
                sa.text(statement + where + (" RETURNING record" if returning else "")),
                params=self._where(kind, key),
            )

    def _where(self, kind: str, key: str) -> dict[str, str]:
        return {"platform": self.platform, "kind": kind, "key_hash": _hash(key)}


def shared_moment(platform: str, name: str, proposed: datetime) -> datetime:
    """A moment every instance of the app agrees on: the first to ask files `proposed`, every
    other backend, worker and restart reads that one back. Blocking (a process asks once)."""
    where = {"platform": platform, "key_hash": _hash(name)}
    with psycopg.connect(db.psycopg_conninfo(), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO sandbox_records (platform, kind, key_hash, record, created_at) "
            "VALUES (%(platform)s, 'moment', %(key_hash)s, %(record)s, now()) ON CONFLICT DO NOTHING",
            where | {"record": Jsonb({"at": proposed.isoformat()})},
        )
        [filed] = connection.execute(
            "SELECT record->>'at' FROM sandbox_records "
            "WHERE platform = %(platform)s AND kind = 'moment' AND key_hash = %(key_hash)s",
            where,
        ).fetchone()
    return datetime.fromisoformat(filed)
