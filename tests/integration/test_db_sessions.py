"""How `assetry.db` opens transactions: a page load's reads share one, and the session lookup
sends its one statement without BEGIN and COMMIT around it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from assetry import db
from tests.integration.test_watching import QueryCounter

ROLE_SWITCH = "set_config('role', 'authenticated', true)"
WHO = sa.text("SELECT current_setting('request.jwt.claims', true)")


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
