"""The embedded Postgres of `make run`: its data outlives the server, one owner per DATA_DIR, clear faults.

Each test runs its own server from the wheel in a temporary DATA_DIR (a couple of seconds
for a new folder), with the app's settings pointed at it as `make run` points them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.config import Config
from sqlmodel import select

from alembic import command
from assetry import cli, db, local_postgres, web
from assetry.config import ROOT, get_settings
from assetry.local_postgres import AlreadyRunning, LocalDatabaseError, LocalPostgres
from assetry.models import User
from assetry.services import accounts
from tests.account_setup import SignUp, create_account
from tests.conftest import server_folder

PASSWORD = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")


@pytest.fixture
def folder() -> Iterator[Path]:
    with server_folder() as path:
        yield path


@pytest.fixture
def embedded(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostgres]:
    """The app's settings in embedded mode (no DATABASE_URL), with DATA_DIR in a temporary folder."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(folder / "data"))
    get_settings.cache_clear()
    local = get_settings().local_postgres()
    assert local is not None
    yield local
    local.stop()
    get_settings.cache_clear()


async def _sign_up(email: str) -> None:
    signup = SignUp(email=email, password=PASSWORD, age_confirmed=True, accepted_policies=True)
    await create_account(signup, HERE)


async def _emails() -> list[str]:
    async with db.service_session() as session:
        return sorted((await session.exec(select(User.email))).all())


async def _health() -> httpx.Response:
    """/health as the app's routes answer it (what a load balancer or `make run`'s user polls)."""
    transport = httpx.ASGITransport(app=web.routes())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        return await http.get("/health")


def _postgres_processes(folder: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-af", f"-D {folder}"], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


async def test_two_runs_on_one_data_folder_keep_the_first_runs_rows(embedded: LocalPostgres) -> None:
    with embedded.owned(exclusive=True) as owner:
        assert owner
        command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
        await _sign_up("maya@example.com")
        await db.dispose_engines()
    assert not embedded.running()
    assert _postgres_processes(embedded.folder) == []

    with embedded.owned(exclusive=True):
        assert await _emails() == ["maya@example.com"]
        await _sign_up("ana@example.com")
        await db.dispose_engines()
    assert _postgres_processes(embedded.folder) == []

    with embedded.owned(exclusive=True):
        assert await _emails() == ["ana@example.com", "maya@example.com"]
        await db.dispose_engines()


def test_a_second_owner_is_refused_and_a_command_uses_the_running_server(embedded: LocalPostgres) -> None:
    with embedded.owned(exclusive=True):
        with (
            pytest.raises(
                AlreadyRunning, match=rf"already running with the data in .*\(process {os.getpid()}\)"
            ),
            embedded.owned(exclusive=True),
        ):
            pass
        with embedded.owned(exclusive=False) as owner:
            assert owner is False
            assert embedded.running()
        assert embedded.running()  # the command left the owner's server alone
    assert not embedded.running()


def test_the_server_listens_on_no_port_so_a_taken_port_is_no_obstacle(embedded: LocalPostgres) -> None:
    with contextlib.ExitStack() as stack:
        taken = stack.enter_context(socket.socket())
        with contextlib.suppress(OSError):  # else the machine's own Postgres already holds 5432
            taken.bind(("127.0.0.1", 5432))
            taken.listen()
        with embedded.owned(exclusive=True):
            assert embedded._sql("assetry", "SHOW listen_addresses") == ""
            assert embedded.version().startswith(f"{local_postgres.MAJOR}.")


async def test_a_killed_server_is_reported_unreachable_and_a_restart_loses_nothing(
    embedded: LocalPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    with embedded.owned(exclusive=True):
        command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
        await _sign_up("maya@example.com")
        assert (await _health()).json() == {"status": "ok", "database": "ok"}
        postmaster = int((embedded.folder / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        await db.dispose_engines()
        down = await _health()
        assert (down.status_code, down.json()) == (503, {"status": "unavailable", "database": "unreachable"})
        assert await cli.doctor() == 1
        database_line = capsys.readouterr().out.splitlines()[0]
        assert database_line.split()[:3] == ["database", "embedded", "FAIL"]
        assert f"embedded Postgres in {embedded.folder} is unreachable" in database_line
        await db.dispose_engines()

    with embedded.owned(exclusive=True):
        assert (await _health()).status_code == 200
        assert await _emails() == ["maya@example.com"]
        assert await cli.doctor() == 0
        assert "row-level security on in all" in capsys.readouterr().out
        await db.dispose_engines()


def _as_server_user(*command: str) -> None:
    user = local_postgres._server_user()
    subprocess.run(
        list(command),
        check=True,
        capture_output=True,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        cwd="/",
    )


async def test_a_folder_from_postgres_16_is_refused_untouched_then_upgraded_with_its_rows(
    embedded: LocalPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded._prepare_folder()  # made, owned by the server's user
    old = local_postgres._wheel_bin("pginstall")  # the wheel's Postgres 16
    socket_dir, data = str(embedded.socket_dir), str(embedded.folder)
    _as_server_user(str(old / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--locale=C.UTF-8")
    _as_server_user(
        str(old / "pg_ctl"),
        "start",
        "-w",
        "-D",
        data,
        "-l",
        f"{data}/server.log",
        "-o",
        f"-c listen_addresses='' -k {socket_dir}",
    )
    for sql in (
        "CREATE DATABASE assetry",
        "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')",
    ):
        _as_server_user(
            str(old / "psql"),
            "-h",
            socket_dir,
            "-U",
            "postgres",
            "-d",
            "postgres" if "DATABASE" in sql else "assetry",
            "-c",
            sql,
        )
    _as_server_user(str(old / "pg_ctl"), "stop", "-w", "-D", data)

    with pytest.raises(
        LocalDatabaseError, match=r"made by Postgres 16; this Assetry runs Postgres 18"
    ) as refused:
        embedded.start()
    assert "Nothing was changed" in str(refused.value)
    assert "`python -m assetry upgrade-database`" in str(refused.value)
    assert (embedded.folder / "PG_VERSION").read_text().strip() == "16"
    assert not embedded.running()

    assert cli.main(["upgrade-database"]) == 0
    assert "from Postgres 16 to 18" in capsys.readouterr().out
    assert (embedded.folder / "PG_VERSION").read_text().strip() == "18"
    assert (
        embedded.data_dir / "postgres-16" / "PG_VERSION"
    ).read_text().strip() == "16"  # kept for the operator
    embedded.start()
    assert embedded._sql("assetry", "SELECT body FROM notes") == "kept"
    assert embedded.version().startswith("18")


@pytest.mark.parametrize(
    ("made_by", "says"),
    [
        ("15", r"pg_upgrade cannot be used here: the wheel carries no Postgres 15 binaries \(only 16, 18\)"),
        ("19", r"A newer Assetry made it: run that one, `python -m assetry backup FILE` there"),
    ],
)
def test_a_folder_from_a_major_the_wheel_cannot_upgrade_says_what_to_do_instead(
    embedded: LocalPostgres, made_by: str, says: str
) -> None:
    embedded._prepare_folder()
    (embedded.folder / "PG_VERSION").write_text(f"{made_by}\n")
    for attempt in (embedded.start, embedded.upgrade):
        with pytest.raises(LocalDatabaseError, match=says) as refused:
            attempt()
        assert f"made by Postgres {made_by}; this Assetry runs Postgres 18. Nothing was changed." in str(
            refused.value
        )
    assert sorted(path.name for path in embedded.folder.iterdir()) == ["PG_VERSION"]
    assert not embedded.running()


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_data_dir_that_is_not_writable_says_so(folder: Path) -> None:
    with _tmpfs(folder / "read-only", "ro,size=1m") as mounted:
        local = LocalPostgres(mounted / "data")
        with pytest.raises(
            LocalDatabaseError, match=r"DATA_DIR .*/read-only/data is not writable \(Read-only file system\)"
        ):
            local.start()


def test_a_full_disk_on_first_start_says_so(folder: Path) -> None:
    with _tmpfs(folder / "small", "size=4m") as mounted:
        local = LocalPostgres(mounted / "data")
        with pytest.raises(LocalDatabaseError, match=r"the disk holding .* is full. Free some space"):
            local.start()
        assert not local.running()


async def test_a_backup_restores_its_rows_here_and_into_a_new_data_dir_with_rls(
    embedded: LocalPostgres, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = folder / "assetry.backup"
    with embedded.owned(exclusive=True):
        command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
        await _sign_up("maya@example.com")
        await db.dispose_engines()
        assert cli.backup(saved) == 0
        await _sign_up("ana@example.com")  # after the backup: the restore takes it away
        await db.dispose_engines()
        assert cli.restore(saved) == 0
        assert await _emails() == ["maya@example.com"]
        await db.dispose_engines()

        not_a_backup = folder / "notes.txt"
        not_a_backup.write_text("my notes, not a backup")
        with pytest.raises(
            LocalDatabaseError, match=r"Could not restore .*notes.txt: .* The database was not changed"
        ):
            cli.restore(not_a_backup)
        with pytest.raises(LocalDatabaseError, match=r"There is no backup file at .*missing.backup"):
            cli.restore(folder / "missing.backup")
        assert await _emails() == ["maya@example.com"]
        await db.dispose_engines()

    monkeypatch.setenv("DATA_DIR", str(folder / "another"))  # a machine that never ran a migration
    get_settings.cache_clear()
    another = get_settings().local_postgres()
    try:
        with another.owned(exclusive=True):
            assert cli.restore(saved) == 0
            assert await _emails() == ["maya@example.com"]
            async with db.service_session() as session:
                maya = (await session.exec(select(User))).one()
            async with db.user_session(maya.id) as session:
                assert [u.email for u in (await session.exec(select(User))).all()] == ["maya@example.com"]
            async with db.user_session(uuid.uuid4()) as session:
                assert (await session.exec(select(User))).all() == []  # row-level security came back too
            await db.dispose_engines()
    finally:
        another.stop()
