"""Shared fixtures: every database test runs on SQLite and on Postgres.

Postgres comes from TEST_DATABASE_URL (default: the local server on 127.0.0.1:5432,
database `test`). If it is not reachable the run fails with a message; it never skips.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from assetry import db
from assetry.config import ROOT, driver_url, get_settings
from assetry.models import metadata

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


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


def _point_settings_at(backend: str, data_dir: Path) -> dict[str, str]:
    env = {"DATA_DIR": str(data_dir)}
    if backend == "postgres":
        env["DATABASE_URL"] = TEST_DATABASE_URL
    return env


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    """Each backend, migrated once per test run; yields the env that selects it."""
    envs = {}
    saved = {k: os.environ.get(k) for k in ("DATA_DIR", "DATABASE_URL")}
    for backend in BACKENDS:
        env = _point_settings_at(backend, tmp_path_factory.mktemp(f"data-{backend}"))
        if backend == "postgres":
            _reset_postgres(TEST_DATABASE_URL)
        os.environ.pop("DATABASE_URL", None)
        os.environ.update(env)
        get_settings.cache_clear()
        command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
        envs[backend] = env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    yield envs


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, migrated: dict, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """An empty, migrated database on the parametrised backend; yields the backend's name."""
    backend = request.param
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key, value in migrated[backend].items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    owner_url = get_settings().owner_database_url
    with _owner_engine(owner_url).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    yield backend
    await db.dispose_engines()
    get_settings.cache_clear()
