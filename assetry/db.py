"""Database engines and sessions.

Two ways in, and only two:

- `user_session(user_id)`: work done for one signed-in user. On Postgres the
  transaction runs as the `authenticated` role with the user's id in
  `request.jwt.claims`, so row-level security refuses other users' rows even if
  a query forgets its filter.
- `service_session()`: work the service does for itself (jobs, admin, visitors
  who are not signed in). On Postgres it runs as `service_role`, which bypasses
  RLS; every use is deliberate and named.

On SQLite (the embedded default) there is no RLS; services filter by user.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.config import get_settings

_engines: dict[str, AsyncEngine] = {}


def engine() -> AsyncEngine:
    """The async engine for the configured database (one per URL per process)."""
    url = get_settings().app_database_url
    if url not in _engines:
        _engines[url] = _create_engine(url)
    return _engines[url]


def is_postgres() -> bool:
    return engine().dialect.name == "postgresql"


def _create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        created = create_async_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(created.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return created
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


async def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases; the CLI exits)."""
    for created in _engines.values():
        await created.dispose()
    _engines.clear()


@asynccontextmanager
async def user_session(user_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """A transaction on behalf of one user; committed on success, rolled back on error."""
    async with (
        AsyncSession(engine(), expire_on_commit=False) as session,
        session.begin(),
    ):
        if session.bind.dialect.name == "postgresql":
            await session.exec(sa.text("SET LOCAL ROLE authenticated"))
            claims = json.dumps({"sub": str(user_id), "role": "authenticated"})
            await session.exec(sa.select(sa.func.set_config("request.jwt.claims", claims, True)))
        yield session


@asynccontextmanager
async def service_session() -> AsyncIterator[AsyncSession]:
    """A transaction on behalf of the service itself (bypasses RLS on Postgres)."""
    async with (
        AsyncSession(engine(), expire_on_commit=False) as session,
        session.begin(),
    ):
        if session.bind.dialect.name == "postgresql":
            await session.exec(sa.text("SET LOCAL ROLE service_role"))
        yield session


async def locked(session: AsyncSession, model: type, row_id: object):
    """The row, locked until the transaction ends, so check-then-write sequences run one at a time.

    Postgres: `SELECT ... FOR UPDATE`. SQLite: a no-op UPDATE first takes the database's write
    lock (pysqlite only begins the transaction at the first write; reads before it are unlocked).
    """
    if session.bind.dialect.name == "postgresql":
        return (
            (await session.exec(sa.select(model).where(model.id == row_id).with_for_update()))
            .scalars()
            .first()
        )
    await session.exec(sa.update(model).where(model.id == row_id).values(id=model.id))
    return await session.get(model, row_id)
