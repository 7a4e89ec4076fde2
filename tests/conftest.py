"""Shared fixtures: every database test runs on Postgres.

Postgres comes from TEST_DATABASE_URL (its schemas are dropped and migrated again) or, when it
is unset, from the embedded server of the wheel, started once per run in a temporary folder.
If the database is not reachable the run fails with a message; it never skips.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.engine import make_url

from alembic import command
from assetry import db
from assetry.config import ROOT, driver_url, get_settings
from assetry.local_postgres import LocalPostgres
from assetry.models import metadata

# Password hashes the suite makes are thrown away: a test-only argon2 cost (production's is
# tested once, in tests/unit/test_security.py). The e2e server does not inherit it.
os.environ["ARGON2_TIME_COST"] = "1"
os.environ["ARGON2_MEMORY_KIB"] = "32"


def _owner_engine(url: str) -> sa.Engine:
    return sa.create_engine(driver_url(url), poolclass=sa.pool.NullPool)


def _reset_postgres(url: str) -> None:
    try:
        with _owner_engine(url).begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            conn.execute(sa.text("DROP SCHEMA IF EXISTS auth CASCADE"))
    except sa.exc.OperationalError as error:
        pytest.fail(
            f"Postgres is not reachable at {url} ({error.orig}). Start it, point "
            "TEST_DATABASE_URL at another server, or unset it to use the embedded one. "
            "Database tests never skip.",
            pytrace=False,
        )


@contextlib.contextmanager
def server_folder() -> Iterator[Path]:
    """A new folder for an embedded server's data, removed afterwards.

    Not under pytest's temporary folder: as root the server runs as its own system user, which
    must be able to pass through the folders above its data, and every pytest session resets
    /tmp/pytest-of-root to mode 0700 when it starts.
    """
    folder = Path(tempfile.mkdtemp(prefix="assetry-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _own_database(url: str, worker: str | None) -> str:
    """The URL itself, or under pytest-xdist a database of this worker's own beside it (made if missing)."""
    if worker is None:
        return url
    own = make_url(url).set(database=f"{make_url(url).database}_{worker}")
    server = sa.create_engine(
        driver_url(own.set(database="postgres").render_as_string(hide_password=False)),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    with server.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own.database}):
            conn.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def test_database_url() -> Iterator[str]:
    """TEST_DATABASE_URL (a database per xdist worker), or an embedded server for this run (one per worker)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield _own_database(url, os.environ.get("PYTEST_XDIST_WORKER"))
        return
    with server_folder() as folder:
        # Thrown away after the run: no need to wait for the disk on every commit.
        local = LocalPostgres(
            folder, settings=("fsync=off", "synchronous_commit=off", "full_page_writes=off")
        )
        with local.owned(exclusive=True):
            yield local.url()


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory, test_database_url: str) -> Iterator[dict[str, str]]:
    """The test database, migrated once per test run; yields the env that selects it."""
    env = {"DATA_DIR": str(tmp_path_factory.mktemp("data")), "DATABASE_URL": test_database_url}
    _reset_postgres(test_database_url)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    yield env


# Every table emptied in one round trip, by a function of the wiping connection's own
# (`pg_temp`: nothing in the schema under test) that deletes only from tables holding rows; the
# connection stays open for the run, so the function's plans are made once. Per test ~10 ms
# under load, against ~150 ms for a new connection and a DELETE of every table.
# The job engine's tables (procrastinate's) first: its jobs point at nothing of ours.
_ENGINE_TABLES = (
    "procrastinate_periodic_defers",
    "procrastinate_events",
    "procrastinate_jobs",
    "procrastinate_workers",
)
_WIPE_ORDER = (*_ENGINE_TABLES, *(t.name for t in reversed(metadata.sorted_tables)))
_WIPE_FUNCTION = "CREATE FUNCTION pg_temp.wipe() RETURNS void LANGUAGE plpgsql AS $$BEGIN\n{}\nEND$$".format(
    "\n".join(
        f'PERFORM FROM "{name}" LIMIT 1; IF FOUND THEN DELETE FROM "{name}"; END IF;' for name in _WIPE_ORDER
    )
)


class KeptRows:
    """Rows a fixture made once, put back for each later test that asks, in one round trip.

    `keep(name, value)` copies every row of the database into temporary tables of the wiping
    connection; `put_back(name)` (in a test's emptied database) inserts them again, triggers
    off as in a restore (`session_replication_role = replica`: the rows are already consistent,
    and nothing is queued or notified twice), and returns `value`. The same rows, ids and
    tokens as when they were made; `None` if nothing is kept under that name (yet, or any
    longer: a test that cut the wiping connection took its temporary tables with it).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.kept: dict[str, object] = {}

    def keep(self, name: str, value: object) -> None:
        inserts = []
        with self.engine.begin() as conn:
            for number, table in enumerate(_WIPE_ORDER):
                if conn.scalar(sa.text(f'SELECT EXISTS (SELECT FROM "{table}")')):
                    columns = ", ".join(
                        f'"{column}"'
                        for column in conn.scalars(
                            sa.text(
                                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                                "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"
                            ),
                            {"t": f'"{table}"'},
                        )
                    )
                    copy = f"kept_{name}_{number}"
                    conn.exec_driver_sql(
                        f'CREATE TEMPORARY TABLE "{copy}" AS SELECT {columns} FROM "{table}"'
                    )
                    inserts.append(
                        f'INSERT INTO "{table}" ({columns}) OVERRIDING SYSTEM VALUE SELECT * FROM pg_temp."{copy}";'
                    )
            conn.exec_driver_sql(
                f"CREATE FUNCTION pg_temp.put_back_{name}() RETURNS void LANGUAGE plpgsql AS $$BEGIN\n"
                "SET LOCAL session_replication_role = replica;\n" + "\n".join(inserts) + "\nEND$$"
            )
        self.kept[name] = value

    def put_back(self, name: str) -> object | None:
        if name not in self.kept:
            return None
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_temp.put_back_{name}()")
        return self.kept[name]


@pytest.fixture(scope="session")
def wiper(migrated: dict[str, str]) -> Iterator[KeptRows]:
    """One owner connection for the run, which empties the database before each test.

    A test that cuts it (a restart of the server) costs the next test a new connection, and
    the rows kept on it."""
    url = migrated["DATABASE_URL"]
    engine = sa.create_engine(driver_url(url), pool_size=1, max_overflow=0, pool_pre_ping=True)
    kept = KeptRows(engine)

    @sa.event.listens_for(engine, "connect")
    def _define(connection, _record) -> None:
        kept.kept.clear()
        with connection.cursor() as cursor:
            cursor.execute(_WIPE_FUNCTION)
        connection.commit()

    yield kept
    engine.dispose()


@pytest.fixture
def kept_rows(database: str, wiper: KeptRows) -> KeptRows:
    """For a fixture whose rows are the same for every test: make them once, `keep` them, and
    `put_back` them in each later test's empty database instead of making them again."""
    return wiper


@pytest.fixture
async def database(
    migrated: dict[str, str], wiper: KeptRows, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """An empty, migrated Postgres database; yields the backend's name ("postgres")."""
    for key, value in migrated.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    with wiper.engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_temp.wipe()")
    yield "postgres"
    await db.dispose_engines()
    get_settings.cache_clear()
