"""Multi-instance mode: start-up refuses what is missing; health says what is up, for real.

The web side's health routes are served in this process (their Starlette app); the worker is a
real `python -m assetry worker --health-port` process; Redis is the machine's, S3 is moto's
server on loopback, the database is the test Postgres (or an embedded server that is stopped).
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.config import Config

from alembic import command
from assetry import db, rls, web
from assetry.config import ROOT, get_settings
from assetry.jobs import engine
from assetry.local_postgres import LocalPostgres
from assetry.models import ConnectedAccount
from assetry.services import connections, platforms
from assetry.token_vault import TokenVault, VaultError
from tests.asgi_server import free_port
from tests.conftest import server_folder
from tests.integration import test_tiktok_connection as tiktok_flow
from tests.object_storage import moto_s3, new_bucket, storage_settings

APP_ROLE, APP_PASSWORD = "assetry_multi", "a-password-of-this-installation"
REDIS = "redis://127.0.0.1:6379/0"
SHARED = ("DEPLOYMENT", "ENCRYPTION_KEYS", "SECRET_KEY", "DATABASE_URL", "APP_DB_ROLE", "APP_DB_PASSWORD",
          "REDIS_URL", "MEDIA_S3_ENDPOINT", "MEDIA_S3_ACCESS_KEY", "MEDIA_S3_SECRET_KEY", "MEDIA_S3_BUCKET")  # fmt: skip
START_S = 60


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _environment(**env: str) -> dict[str, str]:
    """This process's environment without any shared setting, then `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in SHARED}
    return clean | env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def _missing(stderr: str) -> list[str]:
    """The names at the start of each "  - NAME (why)" line of a refusal."""
    return [line[4:].split(" (")[0] for line in stderr.splitlines() if line.startswith("  - ")]


def test_start_up_refuses_multi_instance_mode_naming_what_is_missing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    external = "postgresql://owner:pw@db.example.com:5432/assetry"
    partly = _environment(DEPLOYMENT="multi", DATA_DIR=str(data), REDIS_URL=REDIS, DATABASE_URL=external)
    nothing = _environment(DEPLOYMENT="multi", DATA_DIR=str(data))
    keys_only_missing = _environment(
        DEPLOYMENT="multi", DATA_DIR=str(data), REDIS_URL=REDIS, APP_DB_PASSWORD=APP_PASSWORD, DATABASE_URL=external,
        MEDIA_S3_ENDPOINT="http://127.0.0.1:9", MEDIA_S3_ACCESS_KEY="k", MEDIA_S3_SECRET_KEY="s", SECRET_KEY="signing",
    )  # fmt: skip
    # The worker, `serve`, and the Reflex app itself (what `reflex run` loads in each backend
    # worker), started side by side (each import takes a while).
    with ThreadPoolExecutor(3) as pool:
        worker, serve, app = pool.map(
            lambda started: _run(*started),
            [
                ([sys.executable, "-m", "assetry", "worker"], partly),
                ([sys.executable, "-m", "assetry", "serve", "--env", "prod"], nothing),
                ([sys.executable, "-c", "import assetry.assetry"], keys_only_missing),
            ],
        )
    assert worker.returncode == 2
    assert _missing(worker.stderr) == [
        "ENCRYPTION_KEYS",
        "SECRET_KEY",
        "APP_DB_PASSWORD",
        "MEDIA_S3_ENDPOINT, MEDIA_S3_ACCESS_KEY, MEDIA_S3_SECRET_KEY",
    ]
    assert serve.returncode == 2
    assert "DATABASE_URL" in _missing(serve.stderr) and "REDIS_URL" in _missing(serve.stderr)
    assert len(_missing(serve.stderr)) == 6
    assert not data.exists()  # no embedded Postgres started, no key file made
    assert app.returncode != 0
    assert "DeploymentRefused" in app.stderr and _missing(app.stderr) == ["ENCRYPTION_KEYS"]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def multi_instance(database: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every shared setting, for this process and the worker processes it starts."""
    # A login of its own: multi-instance mode refuses the built-in password.
    with psycopg.connect(get_settings().owner_database_url, autocommit=True) as owner:
        owner.execute(rls.app_role(APP_ROLE, APP_PASSWORD))
    env = {
        "DEPLOYMENT": "multi",
        "ENCRYPTION_KEYS": f"k1:{_key()}",
        "SECRET_KEY": _key(),
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "APP_DB_ROLE": APP_ROLE,
        "APP_DB_PASSWORD": APP_PASSWORD,
        "REDIS_URL": REDIS,
    } | storage_settings(s3_endpoint, new_bucket(s3_endpoint).name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return env


async def _get(app, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as http:
        return await http.get(path)


@pytest.fixture
def worker_process(multi_instance: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`python -m assetry worker --health-port P` in multi-instance mode; yields it and its base URL."""
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "assetry", "worker", "--health-port", str(port)],
        cwd=ROOT,
        env=_environment(**multi_instance),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("w"),
    )
    try:
        yield worker, f"http://127.0.0.1:{port}"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)


async def _until_answers(url: str, worker: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + START_S
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            assert worker.poll() is None, "the worker exited"
            try:
                return await http.get(url)
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{url} did not answer"
                await asyncio.sleep(0.2)


async def test_ready_names_each_part_and_follows_the_worker(worker_process, multi_instance) -> None:
    worker, worker_url = worker_process
    live = await _until_answers(f"{worker_url}/health/live", worker)
    assert (live.status_code, live.json()) == (200, {"status": "live"})
    # Ready once its heartbeat is in (a moment after it answers), as a container healthcheck waits.
    deadline = time.monotonic() + START_S
    async with httpx.AsyncClient(timeout=10) as http:
        while (ready := await http.get(f"{worker_url}/health/ready")).status_code != 200:
            assert ready.status_code == 503, ready.text
            assert time.monotonic() < deadline, ready.text
            await asyncio.sleep(0.2)
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok", "worker": "ok"}

    app = web.routes()
    ready = await _get(app, "/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "storage": "ok", "worker": "ok"},
    }

    worker.send_signal(signal.SIGTERM)  # idle: it unregisters and exits
    assert worker.wait(timeout=30) == 128 + signal.SIGTERM
    ready = await _get(app, "/health/ready")
    assert ready.status_code == 503
    assert ready.json()["down"] == ["worker"]
    assert ready.json()["checks"]["worker"] == "no job worker sent a heartbeat in the last 30 s"
    assert (await _get(app, "/health/live")).status_code == 200


async def test_ready_says_which_of_redis_and_storage_is_down(
    multi_instance: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("MEDIA_S3_BUCKET", "no-such-bucket")
    get_settings.cache_clear()
    ready = await _get(web.routes(), "/health/ready")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert (checks["database"], checks["redis"], checks["storage"]) == (
        "ok",
        "unreachable",
        "no bucket named 'no-such-bucket'",
    )
    assert ready.json()["down"] == ["redis", "storage", "worker"]


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostgres]:
    """One machine: the embedded server in a new DATA_DIR, migrated and running."""
    with server_folder() as folder:
        for name in SHARED:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DATA_DIR", str(folder / "data"))
        get_settings.cache_clear()
        local = get_settings().local_postgres()
        try:
            with local.owned(exclusive=True):
                command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
                yield local
        finally:
            local.stop()
            get_settings.cache_clear()


async def test_ready_answers_503_when_the_database_stops_and_live_still_answers(
    embedded: LocalPostgres,
) -> None:
    app = web.routes()
    worker = asyncio.create_task(engine.run_worker())
    try:
        deadline = time.monotonic() + START_S
        while (ready := await _get(app, "/health/ready")).status_code != 200:
            assert time.monotonic() < deadline and not worker.done(), ready.json()
            await asyncio.sleep(0.2)
        assert ready.json()["checks"] == {"database": "ok", "worker": "ok"}
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    embedded.stop()
    await db.dispose_engines()
    down = await _get(app, "/health/ready")
    assert down.status_code == 503
    assert down.json()["down"] == ["database", "worker"]
    assert down.json()["checks"] == {"database": "unreachable", "worker": "unknown (database unreachable)"}
    assert (await _get(app, "/health")).status_code == 503
    assert (await _get(app, "/health/live")).json() == {"status": "live"}
    await db.dispose_engines()


async def test_a_token_sealed_under_key_1_reads_after_another_instance_rotates_to_key_2(
    multi_instance: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """This instance seals with k1; another process, configured k2 first and k1 still listed,
    re-seals everything (`rotate-keys`); then k1 can go and the tokens still open."""
    user_id, session_token = await tiktok_flow.new_user()
    connected = await tiktok_flow.connect(user_id, session_token, platforms.sandbox("tiktok"))
    token = await connections.access_token(connected.account_id)
    k1 = multi_instance["ENCRYPTION_KEYS"]
    k2 = f"k2:{_key()}"
    rotating = _run([sys.executable, "-m", "assetry", "rotate-keys"],
                    _environment(**multi_instance | {"ENCRYPTION_KEYS": f"{k2},{k1}"}))  # fmt: skip
    assert rotating.returncode == 0, rotating.stderr
    assert rotating.stdout.strip() == "Re-encrypted 2 stored token(s) under key 'k2'."
    monkeypatch.setenv("ENCRYPTION_KEYS", k2)
    get_settings.cache_clear()
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
    assert account.access_token_enc.startswith("v1:k2:") and account.refresh_token_enc.startswith("v1:k2:")
    assert await connections.access_token(connected.account_id) == token
    with pytest.raises(VaultError):
        TokenVault([("k1", base64.urlsafe_b64decode(k1.split(":")[1]))]).open(account.access_token_enc)
