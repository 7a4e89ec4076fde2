"""Row-level security: the database itself keeps each user's rows to that user.

Every table in `user_owned_tables()` is seeded with rows for two users, A and B, by a
row factory built from the table metadata (tests/rows.py), so a new table is covered
without editing this file. Then, inside `db.user_session(A)`, raw SQL that forgets
its filter still sees, changes and deletes only A's rows, and cannot insert B's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from assetry import cli, db
from assetry.config import driver_url, get_settings
from assetry.models import metadata, owner_column, user_owned_tables
from tests.rows import make_row, row_values

TABLES = user_owned_tables()
A_ROWS, B_ROWS = 2, 1  # different counts, so "A's rows" cannot pass for "all rows" by accident


@dataclass
class Owners:
    a: uuid.UUID
    b: uuid.UUID
    rows: dict[tuple[str, uuid.UUID], int]  # rows made per (table, owner), parents included


@pytest.fixture
async def owners(database: str) -> Owners:
    """Users A and B, with A_ROWS and B_ROWS rows in every user-owned table (users: one each).

    A child row brings its own parent (a post for a metric snapshot, ...), so a table
    can hold more rows than were asked for; `rows` counts what was made.
    """
    a, b = uuid.uuid4(), uuid.uuid4()
    rows: dict[tuple[str, uuid.UUID], int] = {}
    async with db.service_session() as session:
        for owner in (a, b):
            await make_row(session, "users", owner)
        for table in TABLES:
            if table != "users":
                for owner, times in ((a, A_ROWS), (b, B_ROWS)):
                    for _ in range(times):
                        await make_row(session, table, owner)
    async with db.service_session() as session:
        for table in TABLES:
            column = owner_column(table)
            for owner in (a, b):
                t = metadata.tables[table]
                rows[table, owner] = await session.scalar(
                    sa.select(sa.func.count()).select_from(t).where(t.c[column] == owner)
                )
    return Owners(a=a, b=b, rows=rows)


async def _owners_seen(session, table: str) -> list[uuid.UUID]:
    column = owner_column(table)
    rows = (await session.exec(sa.text(f"SELECT * FROM {table}"))).mappings().all()
    return [uuid.UUID(str(row[column])) for row in rows]


def test_the_user_owned_tables_are_found() -> None:
    assert "users" in TABLES
    assert {"auth_sessions", "policy_acceptances", "support_messages", "usage_events"} <= set(TABLES)


@pytest.mark.parametrize("table", TABLES)
async def test_service_session_sees_both_users_rows(owners: Owners, table: str) -> None:
    async with db.service_session() as session:
        seen = await _owners_seen(session, table)
    direct = 1 if table == "users" else A_ROWS
    assert seen.count(owners.a) == owners.rows[table, owners.a] >= direct
    assert seen.count(owners.b) == owners.rows[table, owners.b] >= (1 if table == "users" else B_ROWS)
    assert owners.rows[table, owners.a] != owners.rows[table, owners.b] or table == "users"


@pytest.mark.parametrize("table", TABLES)
async def test_user_session_selects_only_own_rows(owners: Owners, table: str) -> None:
    async with db.user_session(owners.a) as session:
        seen = await _owners_seen(session, table)
    assert seen == [owners.a] * owners.rows[table, owners.a]


@pytest.mark.parametrize("table", TABLES)
async def test_user_session_cannot_update_or_delete_others_rows(owners: Owners, table: str) -> None:
    column = owner_column(table)
    async with db.user_session(owners.a) as session:
        touch = f"UPDATE {table} SET {column} = {column}"
        assert (
            await session.exec(sa.text(f"{touch} WHERE {column} = :b"), params={"b": owners.b})
        ).rowcount == 0
        assert (await session.exec(sa.text(touch))).rowcount == owners.rows[table, owners.a]
        delete = sa.text(f"DELETE FROM {table} WHERE {column} = :b")
        assert (await session.exec(delete, params={"b": owners.b})).rowcount == 0
    async with db.service_session() as session:
        assert (await _owners_seen(session, table)).count(owners.b) == owners.rows[table, owners.b]


@pytest.mark.parametrize("table", TABLES)
async def test_user_session_cannot_insert_rows_owned_by_someone_else(owners: Owners, table: str) -> None:
    # users: a new id that is not A's; other tables: a row owned by B.
    other = uuid.uuid4() if table == "users" else owners.b
    async with db.service_session() as session:  # parents (e.g. a policy version) come from the service
        theirs = await row_values(session, table, other)
        own = await row_values(session, table, owners.a) if table != "users" else None
    insert = sa.insert(metadata.tables[table])
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        async with db.user_session(owners.a) as session:
            await session.exec(insert.values(**theirs))
    if own is not None:  # the same insert for oneself is allowed: the refusal above is RLS, not grants
        async with db.user_session(owners.a) as session:
            await session.exec(insert.values(**own))
    async with db.service_session() as session:
        seen = await _owners_seen(session, table)
    if table == "users":
        assert other not in seen
    else:
        assert seen.count(other) == owners.rows[table, other]
        assert seen.count(owners.a) > owners.rows[table, owners.a]


@pytest.mark.parametrize("table", TABLES)
async def test_rls_is_on_with_one_policy_per_operation(owners: Owners, table: str) -> None:
    async with db.service_session() as session:
        enabled = await session.scalar(
            sa.text("SELECT relrowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"),
            params={"t": table},
        )
        policies = (
            (
                await session.exec(
                    sa.text(
                        "SELECT cmd, roles, coalesce(qual, '') || ' ' || coalesce(with_check, '') AS rule "
                        "FROM pg_policies WHERE schemaname = 'public' AND tablename = :t"
                    ),
                    params={"t": table},
                )
            )
            .mappings()
            .all()
        )
    assert enabled is True
    assert sorted(p["cmd"] for p in policies) == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    for policy in policies:
        assert list(policy["roles"]) == ["authenticated"]
        assert "auth.uid()" in policy["rule"]
        assert owner_column(table) in policy["rule"]


async def test_no_table_in_the_database_has_a_user_id_without_being_covered(database: str) -> None:
    async with db.service_session() as session:
        with_user_id = (
            await session.exec(
                sa.text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name = 'user_id'"
                )
            )
        ).scalars()
        assert set(with_user_id) <= set(TABLES)


async def test_app_login_role_is_not_a_superuser_and_reads_nothing_without_set_role(
    owners: Owners,
) -> None:
    settings = get_settings()
    assert db.engine().url.username == settings.app_db_role
    async with db.service_session() as session:
        role = (
            (
                await session.exec(
                    sa.text(
                        "SELECT rolsuper, rolbypassrls, rolinherit, rolcanlogin "
                        "FROM pg_roles WHERE rolname = :r"
                    ),
                    params={"r": settings.app_db_role},
                )
            )
            .mappings()
            .one()
        )
    assert dict(role) == {"rolsuper": False, "rolbypassrls": False, "rolinherit": False, "rolcanlogin": True}

    app = sa.create_engine(make_url(settings.app_database_url), poolclass=sa.pool.NullPool)
    try:
        with app.connect() as conn:
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text("SELECT count(*) FROM public.users"))
            conn.rollback()
            conn.execute(sa.text("SET ROLE authenticated"))  # no claims: nobody's rows
            assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 0
            conn.execute(sa.text("SET ROLE service_role"))
            assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 2
    finally:
        app.dispose()


async def test_doctor_names_the_database_and_a_table_whose_rls_was_turned_off(database: str) -> None:
    owner = sa.create_engine(driver_url(get_settings().owner_database_url), poolclass=sa.pool.NullPool)
    ok, detail = await cli._check_database(get_settings())
    assert ok, detail
    assert detail.endswith(f"row-level security on in all {len(TABLES)} user-owned tables")
    with owner.connect() as conn:
        version = conn.scalar(sa.text("SHOW server_version")).split()[0]
    assert f"Postgres {version} at " in detail
    try:
        with owner.begin() as conn:
            conn.execute(sa.text("ALTER TABLE notes DISABLE ROW LEVEL SECURITY"))
        ok, detail = await cli._check_database(get_settings())
        assert not ok
        assert detail.endswith("row-level security is OFF on notes")
    finally:
        with owner.begin() as conn:
            conn.execute(sa.text("ALTER TABLE notes ENABLE ROW LEVEL SECURITY"))
        owner.dispose()
