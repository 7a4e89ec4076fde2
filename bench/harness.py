"""Shared pieces of the benchmarks: environment, servers in their own process group, statistics.

Every wait is bounded; every server runs in a new session so stopping it means signalling
its whole process group, and every temporary directory is removed on the way out.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
BUN_DIR = REPO / "tools" / "node_modules" / ".bin"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A production build of a cold checkout takes well under a minute; this only catches hangs.
SERVER_READY_TIMEOUT = 300.0
STOP_TIMEOUT = 20.0


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the results table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def reflex_env(**extra: str) -> dict[str, str]:
    """The environment Reflex needs here: the project-local bun on PATH, no telemetry, unbuffered output."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env["PATH"] = f"{BUN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env["REFLEX_USE_SYSTEM_BUN"] = "1"
    env["REFLEX_TELEMETRY_ENABLED"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port nobody listens on right now (a developer's app on 3000 is left alone).

    BENCH_PORTS=FIRST-LAST keeps the benchmark's servers inside that range (several people
    benchmarking on one machine); otherwise the system picks one.
    """
    if ports := os.environ.get("BENCH_PORTS"):
        first, last = (int(end) for end in ports.split("-"))
        for port in range(first, last + 1):
            if port not in _handed_out and _port_free(port):
                _handed_out.add(port)
                return port
        raise RuntimeError(f"no free port left in BENCH_PORTS={ports}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status code of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


class Server:
    """A command started in its own process group, its output watched for marker strings.

    `marks` maps each marker to the seconds after start when it first appeared in the output.
    """

    def __init__(self, name: str, command: Sequence[str], *, cwd: Path, env: dict[str, str], markers=()):
        self.name = name
        self.command = list(command)
        self.cwd = cwd
        self.env = env
        self.markers = [m.encode() for m in markers]
        self.marks: dict[str, float] = {}
        self.output = bytearray()
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self._reader: threading.Thread | None = None

    def start(self) -> Server:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        stream = self.process.stdout
        while chunk := os.read(stream.fileno(), 65536):
            now = time.perf_counter() - self.started
            self.output += chunk
            # Search a little before the new chunk too, in case a marker straddles two reads.
            window = bytes(self.output[-(len(chunk) + 200) :])
            for marker in self.markers:
                if marker.decode() not in self.marks and marker in window:
                    self.marks[marker.decode()] = now

    def wait_http(self, url: str, timeout: float = SERVER_READY_TIMEOUT) -> float:
        """Poll until `url` answers 200; returns seconds since start. Fails if the server dies."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if http_status(url, timeout=1.0) == 200:
                return time.perf_counter() - self.started
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: {url} did not answer 200 within {timeout:.0f}s:\n{self.tail()}")

    def wait_exit(self, timeout: float) -> float:
        """For a command that finishes: wait for it (bounded), fail unless it succeeded; returns seconds."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise TimeoutError(f"{self.name} took longer than {timeout:.0f}s:\n{self.tail()}") from error
        elapsed = time.perf_counter() - self.started
        if self._reader:
            self._reader.join(timeout=5)
        if code != 0:
            raise RuntimeError(f"{self.name} exited with {code}:\n{self.tail()}")
        return elapsed

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the whole process group, SIGKILL it if it lingers."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if _group_gone(self.process, grace):
                break
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self._reader:
            self._reader.join(timeout=5)
        self.process = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _group_gone(leader: subprocess.Popen, grace: float) -> bool:
    deadline = time.perf_counter() + grace
    while time.perf_counter() < deadline:
        leader.poll()  # reap the leader, or its zombie keeps the group alive
        try:
            os.killpg(leader.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


# Markers in `make run`'s output: `serve` prints this once the database is up and migrated, and
# Reflex prints "App running at" once compile and build are done, just before the backend boots.
MIGRATED = "Database is up to date."
BUILT = "App running at"


def our_app(port: int, data_dir: Path) -> Server:
    """`make run` of this checkout on `port`, with its data in `data_dir`."""
    env = reflex_env(DATA_DIR=str(data_dir), PUBLIC_URL=f"http://127.0.0.1:{port}")
    return Server(
        "assetry (make run)",
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=REPO,
        env=env,
        markers=[MIGRATED, BUILT],
    )


def baseline_app(app_dir: Path, port: int) -> Server:
    """The blank Reflex app served the way `make run` serves ours."""
    command = [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port"]
    command += ["--frontend-port", str(port), "--loglevel", "warning"]
    return Server("blank Reflex app", command, cwd=app_dir, env=reflex_env(), markers=[BUILT])


def make_blank_app(parent: Path) -> Path:
    """`reflex init --template blank` in parent/blankapp (the baseline the ratios are against)."""
    app_dir = parent / "blankapp"
    app_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(VENV_BIN / "reflex"), "init", "--template", "blank", "--loglevel", "warning"],
        cwd=app_dir,
        env=reflex_env(),
        check=True,
        timeout=300,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return app_dir


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory removed afterwards, whatever happened."""
    path = Path(tempfile.mkdtemp(prefix=f"assetry-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def git_commit() -> str:
    """The checkout's commit, recorded with the results."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def summary(values: Sequence[float]) -> dict:
    """Runs, median and p95 (nearest rank: with five runs that is the slowest)."""
    ordered = sorted(values)
    return {
        "runs": list(values),
        "n": len(values),
        "median": statistics.median(ordered),
        "p95": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)],
    }


# ----- databases and the production app, for the service-level and browser benchmarks ----------

POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def _postgres_admin(statement: str) -> None:
    """Run CREATE/DROP DATABASE on the maintenance database (outside a transaction)."""
    import sqlalchemy as sa

    engine = sa.create_engine(
        f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def postgres_database_exists(name: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(
        f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name})
            return found.first() is not None
    finally:
        engine.dispose()


@contextmanager
def migrated_database(data_dir: Path, *, postgres_name: str | None, keep: bool = False) -> Iterator[str]:
    """Point the app's settings at a fresh, migrated database; yields its owner URL.

    `postgres_name`: that database on BENCH_POSTGRES_URL's server, created here (dropped first
    if a crashed run left it) and dropped afterwards; with `keep`, an existing one is reused
    (and migrated to head) and it is left in place afterwards. None: the embedded server of
    `data_dir`, running for the block; its data stays for a `production_app` on that DATA_DIR.
    """
    from alembic.config import Config

    from alembic import command
    from assetry import db
    from assetry.config import ROOT, get_settings
    from assetry.local_postgres import LocalPostgres

    saved = {key: os.environ.get(key) for key in ("DATA_DIR", "DATABASE_URL")}
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    embedded = ExitStack()
    if postgres_name is None:
        embedded.enter_context(LocalPostgres(data_dir).owned(exclusive=True))
    else:
        if not (keep and postgres_database_exists(postgres_name)):
            _postgres_admin(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)')
            _postgres_admin(f'CREATE DATABASE "{postgres_name}"')
        os.environ["DATABASE_URL"] = f"{POSTGRES_SERVER}/{postgres_name}"
    get_settings.cache_clear()
    try:
        command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
        yield get_settings().owner_database_url
    finally:
        db._engines.clear()  # the async code that used them disposed them on its own loop
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        embedded.close()
        if postgres_name is not None and not keep:
            _postgres_admin(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)')


# Top-level entries of the checkout the served copy does not need (as tests/e2e/conftest.py).
_NOT_COPIED = {
    ".git", ".venv", ".web", ".states", ".env", "data", "tools", "tests", "bench",
    "test-results", ".pytest_cache", ".ruff_cache", ".ci",
}  # fmt: skip


def _copy_source(target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__" or n.endswith(".pyc")}
        if Path(directory) == REPO:
            skipped |= _NOT_COPIED & set(names)
        return skipped

    shutil.copytree(REPO, target, ignore=ignore, symlinks=True)


def production_app(work: Path, data_dir: Path, port: int, **settings: str) -> Server:
    """The app as tests/e2e/conftest.py serves it: a copy of the source, `python -m assetry serve
    --env prod --single-port`, the embedded defaults with their data in `data_dir`, plus
    `settings` as environment variables. The copy keeps the build away from the checkout."""
    from assetry.config import Settings

    source = work / "app"
    if not source.exists():
        _copy_source(source)
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in reflex_env().items() if k.upper() not in ours}
    env.update(DATA_DIR=str(data_dir), PUBLIC_URL=f"http://localhost:{port}", PYTHONDONTWRITEBYTECODE="1")
    env.update({key.upper(): value for key, value in settings.items()})
    command = [str(VENV_BIN / "python"), "-m", "assetry", "serve", "--env", "prod", "--single-port"]
    command += ["--frontend-port", str(port), "--loglevel", "warning"]
    return Server("assetry (production build)", command, cwd=source, env=env, markers=[BUILT])


@contextmanager
def chromium_browser():
    """Headless Debian Chromium through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
