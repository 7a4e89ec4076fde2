"""`python -m assetry serve`, what `make run` calls: the database is up and migrated before the app,
one app per DATA_DIR, after Ctrl-C nothing is left running, and a taken port is refused.

The app runs as `reflex run --env prod --backend-only` (no frontend build, so the test takes
seconds, not minutes), on a free port, with its embedded Postgres in a temporary DATA_DIR.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetry.config import ROOT
from assetry.local_postgres import LocalPostgres
from tests.conftest import server_folder

START_TIMEOUT_S = 240


@pytest.fixture
def folder() -> Iterator[Path]:
    with server_folder() as path:
        yield path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return json.loads(reply.read())
    except (urllib.error.URLError, OSError):
        return None


def _left_running(*marks: str) -> list[str]:
    found = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [
        line for line in found.splitlines() if any(mark in line for mark in marks) and "ps -eo" not in line
    ]


def test_serve_starts_the_database_refuses_a_second_app_and_leaves_nothing_after_ctrl_c(folder: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR")}
    env |= {"DATA_DIR": str(folder), "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    serve = [sys.executable, "-m", "assetry", "serve"]
    app_args = ["--env", "prod", "--backend-only", "--backend-port", str(port), "--loglevel", "warning"]
    log = folder / "serve.log"
    with log.open("wb") as output:
        app = subprocess.Popen(
            [*serve, *app_args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while _health(port) != {"status": "ok", "database": "ok"}:
            assert app.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert "Database is up to date." in log.read_text()

        second = subprocess.run(
            [*serve, *app_args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 1
        assert f"Assetry is already running with the data in {folder} (process {app.pid})" in second.stderr

        doctor = subprocess.run(
            [sys.executable, "-m", "assetry", "doctor"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        database = doctor.stdout.splitlines()[0]
        assert database.split()[:3] == ["database", "embedded", "ok"]
        assert "embedded Postgres 18." in database and "row-level security on in all" in database
        assert _health(port) == {"status": "ok", "database": "ok"}  # the doctor left the app's server running

        os.killpg(app.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches serve (make's foreground group)
        assert app.wait(timeout=90) == 0
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            LocalPostgres(folder).stop()
    assert _left_running(str(folder), f"--backend-port {port}") == []
    assert _health(port) is None
    assert (folder / "postgres" / "PG_VERSION").exists()  # the data stays for the next run

    # The next run finds its port taken by another program: it says so and leaves nothing running.
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the app's last connections linger
        taken.bind(("127.0.0.1", port))
        taken.listen()
        refused = subprocess.run(
            [*serve, *app_args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
    assert refused.returncode == 1
    assert f"port: {port} is already in use" in refused.stderr
    assert _left_running(str(folder), f"--backend-port {port}") == []
    assert not LocalPostgres(folder).running()
