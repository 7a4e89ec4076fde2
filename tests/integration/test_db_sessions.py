"""How `assetry.db` opens transactions: a page load's reads share one, and the session lookup
sends its one statement without BEGIN and COMMIT around it. A pooled connection is handed out
without a round trip to check it, and one the server closed is replaced before it is used."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from assetry import db
from tests.conftest import KeptRows
from tests.integration.test_watching import QueryCounter

ROLE_SWITCH = "set_config('role', 'authenticated', true)"
WHO = sa.text("SELECT current_setting('request.jwt.claims', true)")
BACKEND = sa.text("SELECT pg_backend_pid()")
# The two ways a page load reaches the database: the session behind the cookie, then its reads.
BOTH_POOLS = {"service": db.service_read, "user": lambda: db.user_session(uuid.uuid4())}


async def _driver(session) -> object:
    """The psycopg connection under a session's transaction."""
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def test_a_users_sessions_inside_one_user_transaction_join_it(database: str) -> None:
    ana, bob = uuid.uuid4(), uuid.uuid4()
    with QueryCounter() as statements:
        async with db.one_user_transaction(ana) as outer:
            async with db.user_session(ana) as inner:
                joined = inner is outer
            async with db.user_session(bob) as other:  # another user: a transaction of their own
                apart = other is not outer
                bobs = await other.scalar(WHO)
        async with db.user_session(ana) as after:  # the block is over: nothing to join
            after_apart = after is not outer
    assert joined and apart and after_apart
    assert str(bob) in bobs
    assert sum(ROLE_SWITCH in statement for statement in statements.sent) == 3  # ana's block, bob's, after


async def test_a_service_read_sends_its_statement_outside_a_transaction(database: str) -> None:
    async with db.service_read() as session:
        connection = await _driver(session)
        assert await session.scalar(sa.text("SELECT current_user")) == "service_role"
        assert connection.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
    async with db.service_session() as session:  # the pooled connection is back to transactions
        await session.scalar(sa.text("SELECT 1"))
        assert (await _driver(session)).info.transaction_status == TransactionStatus.INTRANS


def _last_statement_of(wiper: KeptRows, backend: int) -> str:
    """What the server last heard on that connection (asked on the owner's own)."""
    with wiper.engine.begin() as conn:
        return conn.execute(
            sa.text("SELECT query FROM pg_stat_activity WHERE pid = :p"), {"p": backend}
        ).scalar()


@pytest.mark.parametrize("service", [True, False], ids=["service", "user"])
async def test_a_pooled_connection_is_handed_out_without_a_round_trip(
    database: str, wiper: KeptRows, service: bool
) -> None:
    async with db.engine(service=service).connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")  # nothing sent after the statement
        backend = await conn.scalar(BACKEND)
        assert await conn.scalar(sa.text("SELECT 'the last word'")) == "the last word"
    async with db.engine(service=service).connect() as conn:  # the same pooled connection again
        assert (await conn.get_raw_connection()).driver_connection.info.backend_pid == backend
        # Nothing was sent to check it: the server last heard the first checkout's statement.
        assert _last_statement_of(wiper, backend) == "SELECT 'the last word'"


@pytest.mark.parametrize("pool", BOTH_POOLS)
async def test_a_pooled_connection_the_server_closed_is_replaced_before_use(
    database: str, wiper: KeptRows, pool: str
) -> None:
    async with BOTH_POOLS[pool]() as session:
        backend = await session.scalar(BACKEND)
    with wiper.engine.begin() as conn:  # as a restart does to every connection
        conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": backend})
    for _ in range(200):  # until the server's process has ended
        if _last_statement_of(wiper, backend) is None:
            break
        await asyncio.sleep(0.05)
    async with BOTH_POOLS[pool]() as session:
        assert await session.scalar(sa.text("SELECT 'still here'")) == "still here"
        assert await session.scalar(BACKEND) != backend


def _round_trips(trace: Path) -> int:
    """How many times the client sent something to wait on (a Query, or the Sync ending a Parse/Bind/Execute)."""
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    return sum(
        fields[1] == "F" and fields[3].strip() in {"Query", "Sync"} for fields in sent if len(fields) > 3
    )


async def test_a_user_transaction_begins_as_the_user_in_one_round_trip(database: str, tmp_path: Path) -> None:
    ana = uuid.uuid4()
    trace = tmp_path / "wire.txt"
    with trace.open("w") as out:

        def traced(dbapi_connection, _record, _proxy) -> None:
            dbapi_connection.driver_connection.pgconn.trace(out.fileno())

        sa.event.listen(db.engine().sync_engine.pool, "checkout", traced)
        try:
            async with db.user_session(ana) as session:
                assert str(ana) in await session.scalar(WHO)
                assert await session.scalar(sa.text("SELECT current_user")) == "authenticated"
        finally:
            sa.event.remove(db.engine().sync_engine.pool, "checkout", traced)
    # BEGIN with the role switch, the two statements, COMMIT.
    assert _round_trips(trace) == 4


async def test_a_user_transaction_that_fails_leaves_nothing_of_the_user_on_its_connection(
    database: str,
) -> None:
    ana = uuid.uuid4()
    with pytest.raises(sa.exc.DBAPIError):
        async with db.user_session(ana) as session:
            backend = await session.scalar(BACKEND)
            await session.exec(sa.text("SELECT 1 / 0"))
    async with db.engine().connect() as conn:  # the same pooled connection, as the next checkout gets it
        assert (await conn.get_raw_connection()).driver_connection.info.backend_pid == backend
        assert (await conn.get_raw_connection()).driver_connection.autocommit is False
        assert await conn.scalar(sa.text("SELECT current_user")) != "authenticated"
        assert not await conn.scalar(WHO)
