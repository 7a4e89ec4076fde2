"""Database engines and sessions.

Two ways in, and only two:

- `user_session(user_id)`: work done for one signed-in user. The transaction
  runs as the `authenticated` role with the user's id in `request.jwt.claims`,
  so row-level security refuses other users' rows even if a query forgets its filter.
  Inside `one_user_transaction(user_id)` (a signed-in page load), the `user_session`s of that
  user join its transaction: one pooled connection and one role switch for all the page reads.
- `service_session()`: work the service does for itself (jobs, admin, visitors
  who are not signed in). It runs as `service_role`, which bypasses RLS; every
  use is deliberate and named. `service_read()` is the same for a single statement that
  needs no transaction around it (the session behind a cookie, asked before every page load).

The database is Postgres in every mode: DATABASE_URL's, or the embedded server's.
"""

from __future__ import annotations

import dataclasses
import json
import select
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

import psycopg
import sqlalchemy as sa
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.config import get_settings

_engines: dict[str, AsyncEngine] = {}
# Set while a job's task runs (by `jobs.engine`), so that its statements are told apart from
# those sent for pages and requests.
in_job: ContextVar[bool] = ContextVar("in_job", default=False)
statements_for_pages = 0  # counted only with COUNT_STATEMENTS on (tests, benchmarks)


def engine(*, service: bool = False) -> AsyncEngine:
    """The async engine for the configured database (one per URL and role per process).

    The default engine logs in as the app's role, which holds no privileges of its own: each
    `user_session` takes the `authenticated` role for its transaction. The `service` engine's
    connections act as `service_role` from the start (a login option), so a `service_session`
    needs no `SET ROLE` round trip."""
    settings = get_settings()
    url = settings.app_database_url
    key = f"{url} service" if service else url
    if key not in _engines:
        connect_args = {"options": "-c role=service_role"} if service else {}
        # Errors leave the SQL's parameters out: they hold emails, names and prompts (assetry.logs).
        created = create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            hide_parameters=True,
            connect_args=connect_args,
        )
        sa.event.listen(created.sync_engine.pool, "checkout", _refuse_if_closed_by_server)
        if settings.count_statements:
            sa.event.listen(created.sync_engine, "before_cursor_execute", _count_statement)
        _engines[key] = created
    return _engines[key]


def _refuse_if_closed_by_server(dbapi_connection: object, _record: object, _proxy: object) -> None:
    """On each checkout: a pooled connection the server has closed (a database restart or
    failover) is replaced, with every older one, before a page's or job's statement finds out.

    Asked without a round trip (`pool_pre_ping`'s `SELECT 1` was one more before every page load's
    two transactions): an idle connection of these pools receives nothing (they LISTEN to nothing),
    so a socket with something to read holds the server's goodbye (its FATAL message, or the end
    of the stream). A connection replaced for a harmless message costs one new connection."""
    pgconn = dbapi_connection.driver_connection.pgconn
    if pgconn.status != psycopg.pq.ConnStatus.OK or select.select([pgconn.socket], [], [], 0)[0]:
        raise sa.exc.InvalidatePoolError("the database closed this pooled connection")


def _count_statement(*_args: object) -> None:
    global statements_for_pages
    if not in_job.get():
        statements_for_pages += 1


def psycopg_conninfo() -> str:
    """The app's own login for a plain psycopg connection (the job engine's pool, the change
    listener); its sessions act as `service_role`, since the login role holds no privileges."""
    url = make_url(get_settings().app_database_url).set(drivername="postgresql")
    return make_conninfo(url.render_as_string(hide_password=False), options="-c role=service_role")


async def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases; the CLI exits)."""
    for created in _engines.values():
        await created.dispose()
    _engines.clear()


def _begin_as(user_id: uuid.UUID) -> str:
    """BEGIN and the role switch as one simple-protocol message: one round trip instead of two
    (psycopg sends its own BEGIN and waits for it). `set_config('role', …, true)` is SET LOCAL
    ROLE. The claims are written into the text, as a simple query takes no parameters: they are
    built here from a UUID (hex digits and dashes), nothing a caller could quote its way out of."""
    claims = json.dumps({"sub": str(uuid.UUID(str(user_id))), "role": "authenticated"})
    return (
        "BEGIN; SELECT set_config('role', 'authenticated', true), "
        f"set_config('request.jwt.claims', '{claims}', true)"
    )


@dataclasses.dataclass
class _Joinable:
    """The transaction of a `one_user_transaction` block, while it lasts (None after)."""

    user_id: uuid.UUID
    session: AsyncSession | None


_joinable: ContextVar[_Joinable | None] = ContextVar("joinable_user_session", default=None)


@asynccontextmanager
async def user_session(user_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """A transaction on behalf of one user; committed on success, rolled back on error.

    Inside `one_user_transaction` for the same user it is that block's transaction."""
    joinable = _joinable.get()
    if joinable is not None and joinable.session is not None and joinable.user_id == user_id:
        yield joinable.session
        return
    async with (
        AsyncSession(engine(), expire_on_commit=False) as session,
        session.begin(),
    ):
        # In autocommit mode psycopg sends no BEGIN of its own; `_begin_as` sends it. The session's
        # commit (or rollback) still ends the transaction: psycopg ends whatever is open, and the
        # pool puts the connection back to non-autocommit when it is returned.
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await connection.exec_driver_sql(_begin_as(user_id))
        yield session


@asynccontextmanager
async def one_user_transaction(user_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """A `user_session` that the `user_session`s of the same user opened inside the block join
    (a page load's reads, made by several services). Work that must commit on its own (a write
    others wait for) does not belong in it: it commits when the whole block ends. Nothing inside
    may read twice at once (`asyncio.gather`): the reads share one connection."""
    async with user_session(user_id) as session:
        joinable = _Joinable(user_id, session)
        entered = _joinable.set(joinable)
        try:
            yield session
        finally:
            # A task started inside the block copied the context: it must not find the session after it.
            joinable.session = None
            _joinable.reset(entered)


@asynccontextmanager
async def service_session() -> AsyncIterator[AsyncSession]:
    """A transaction on behalf of the service itself (bypasses RLS)."""
    async with (
        AsyncSession(engine(service=True), expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


@asynccontextmanager
async def service_read() -> AsyncIterator[AsyncSession]:
    """`service_session` for ONE statement, sent without a transaction around it (autocommit): a
    statement is its own snapshot, and BEGIN and COMMIT would be two more round trips."""
    async with AsyncSession(engine(service=True), expire_on_commit=False) as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


async def locked(session: AsyncSession, model: type, row_id: object):
    """The row, locked until the transaction ends (`SELECT ... FOR UPDATE`), so check-then-write
    sequences run one at a time."""
    return (
        (await session.exec(sa.select(model).where(model.id == row_id).with_for_update())).scalars().first()
    )
