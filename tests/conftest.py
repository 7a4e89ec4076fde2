"""Shared fixtures: every database test runs on Postgres.

Postgres comes from TEST_DATABASE_URL (default: the local server on 127.0.0.1:5432,
database `test`). If it is not reachable the run fails with a message; it never skips.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from assetry import db
from assetry.config import ROOT, driver_url, get_settings
from assetry.models import metadata

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _owner_engine(url: str) -> sa.Engine:
    return sa.create_engine(driver_url(url, asynchronous=False), poolclass=sa.pool.NullPool)


def _reset_postgres(url: str) -> None:
    try:
        with _owner_engine(url).begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            conn.execute(sa.text("DROP SCHEMA IF EXISTS auth CASCADE"))
    except sa.exc.OperationalError as error:
        pytest.fail(
            f"Postgres is not reachable at {url} ({error.orig}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
            "or point TEST_DATABASE_URL at a server. Database tests never skip.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The test database, migrated once per test run; yields the env that selects it."""
    env = {"DATA_DIR": str(tmp_path_factory.mktemp("data")), "DATABASE_URL": TEST_DATABASE_URL}
    _reset_postgres(TEST_DATABASE_URL)
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


@pytest.fixture
async def database(migrated: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """An empty, migrated Postgres database; yields the backend's name ("postgres")."""
    for key, value in migrated.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    with _owner_engine(get_settings().owner_database_url).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    yield "postgres"
    await db.dispose_engines()
    get_settings.cache_clear()
