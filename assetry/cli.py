"""Operator commands: `python -m assetry serve | migrate | create-admin EMAIL | doctor | rotate-keys
| purge | make-covers | pseudonym ID | smoke | backup FILE | restore FILE | upgrade-database`.

With no DATABASE_URL they run on the embedded Postgres: the app's server while it runs,
otherwise one started for the length of the command (`smoke` needs no database).

Each command imports what it uses when it runs: `--help` and the light commands start at once,
without loading the models, the services and the job engine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from assetry import logs

if TYPE_CHECKING:
    from assetry.local_postgres import LocalPostgres


def backup(path: Path) -> int:
    """Write the whole database to a file (pg_dump from the same wheel as the embedded server)."""
    from assetry import local_postgres
    from assetry.config import get_settings

    local_postgres.backup(get_settings().owner_database_url, path)
    print(f"Backed up the database to {path} ({path.stat().st_size:,} bytes).")
    print(f"Restore it with `python -m assetry restore {path}`.")
    return 0


def restore(path: Path) -> int:
    """Replace the database with a backup; the roles its grants name are made first where missing."""
    import psycopg

    from assetry import local_postgres, rls
    from assetry.config import get_settings

    settings = get_settings()
    url = settings.owner_database_url
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(rls.ROLES_AND_UID)
        connection.execute(rls.app_role(settings.app_db_role, settings.app_db_password.get_secret_value()))
    local_postgres.restore(url, path)
    print(f"Restored the database from {path}.")
    return 0


def upgrade_database(local: LocalPostgres | None) -> int:
    """pg_upgrade the embedded database's folder from an older Postgres major (the wheel's binaries)."""
    from assetry import local_postgres

    if local is None:
        print("DATABASE_URL is set: upgrade that server the way its host says; nothing embedded to upgrade.")
        return 1
    came_from = local.upgrade()
    if came_from == local_postgres.MAJOR:
        print(f"The database in {local.folder} needs no upgrade (Postgres {came_from}, or none yet).")
        return 0
    print(f"Upgraded the database in {local.folder} from Postgres {came_from} to {local_postgres.MAJOR}.")
    print(f"The old folder is kept as {local.folder}-{came_from}: delete it once the app runs well.")
    return 0


def migrate() -> int:
    """Apply every migration (as the schema owner)."""
    from alembic.config import Config

    from alembic import command
    from assetry.config import ROOT

    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    print("Database is up to date.")
    return 0


async def create_admin(email: str) -> int:
    """Give the admin role to an existing account."""
    from sqlmodel import select

    from assetry import db
    from assetry.models import User
    from assetry.services import audit

    async with db.service_session() as session:
        user = (await session.exec(select(User).where(User.email == email.strip().lower()))).first()
        if user is None:
            print(
                f"No account with the email {email!r}. Sign up first, then run this again.", file=sys.stderr
            )
            return 1
        user.is_admin = True
        audit.record(session, actor_id=None, action="admin.granted", target=str(user.id), detail="via CLI")
    print(f"{user.email} is now an admin.")
    return 0


async def rotate_keys() -> int:
    """Re-seal every stored token under the newest key (old keys must stay listed until this ran)."""
    from assetry.services import connections

    changed = await connections.rotate_keys()
    print(f"Re-encrypted {changed} stored token(s) under key {connections.newest_key_id()!r}.")
    return 0


async def purge() -> int:
    """Run every purge the workers schedule (`services.retention`) now; print the counts."""
    from assetry.services import retention

    counts = await retention.run_all()
    width = max(map(len, counts))
    for name, n in counts.items():
        print(f"{name:<{width}}  {n}")
    return 0


async def make_covers(batch: int) -> int:
    """Make the library cover of every image output saved without one (`services.covers`); print
    each batch's progress, then the counts. Safe to run again, and while the app runs."""
    from collections import Counter

    from assetry.services import covers, media

    total: Counter[str] = Counter()
    looked = 0
    async for counts in covers.make_missing(media.store(), batch=batch):
        total.update(counts)
        looked += counts.total()
        print(f"... {looked} image files looked at, {total[covers.MADE]} covers made", file=sys.stderr)
    names = (covers.MADE, covers.HAD_ONE, covers.FILE_GONE, covers.NOT_AN_IMAGE)
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {total[name]}")
    return 0


async def doctor() -> int:
    """Print each subsystem's mode and whether it answers."""
    from assetry.config import get_settings
    from assetry.services import catalog

    settings = get_settings()
    checks = {
        "database": _check_database,
        "auth": _check_auth,
        "ui state": _check_redis,
        "mail": _check_mail,
        "media storage": _check_media,
    }
    failures = 0
    for name, mode in settings.modes().items():
        check = checks.get(name) or functools.partial(_check_provider, name)
        ok, detail = await check(settings)
        failures += not ok
        print(f"{name:<10} {mode.value:<11} {'ok' if ok else 'FAIL':<5} {detail}")
    for problem in catalog.problems(settings):
        print(f"{'models':<10} {'configured':<11} {'WARN':<5} {problem}")
    return 1 if failures else 0


async def _check_database(settings) -> tuple[bool, str]:
    """Which Postgres, its version, the migration, and row-level security on every user-owned table."""
    import sqlalchemy as sa
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from assetry import db
    from assetry.config import ROOT
    from assetry.models import user_owned_tables

    local = settings.local_postgres()
    if local:
        where = f"in {local.folder}"
        kind = "embedded Postgres"
    else:
        url = sa.engine.make_url(settings.owner_database_url)
        where = f"at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"
        kind = "Postgres"
    tables = user_owned_tables()
    try:
        async with db.service_session() as session:
            version = await session.scalar(sa.text("SHOW server_version"))
            migration = await session.scalar(sa.text("SELECT version_num FROM alembic_version"))
            secured = set(
                (
                    await session.exec(
                        sa.text(
                            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public' AND c.relrowsecurity AND c.relname = ANY(:tables)"
                        ).bindparams(tables=tables)
                    )
                ).scalars()
            )
    except (OSError, sa.exc.DBAPIError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        return False, f"{kind} {where} is unreachable: {reason}"
    server = f"{kind} {version.split()[0]} {where}"
    head = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()
    if migration != head:
        return False, f"{server}, migration {migration} but the code needs {head}: run `make migrate`"
    unsecured = sorted(set(tables) - secured)
    if unsecured:
        return False, f"{server}: row-level security is OFF on {', '.join(unsecured)}"
    return True, (
        f"{server}, migration {migration} (up to date), "
        f"row-level security on in all {len(tables)} user-owned tables"
    )


async def _check_auth(settings) -> tuple[bool, str]:
    if settings.auth_mode.value == "embedded":
        return True, "local accounts (argon2id)"
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(
                f"{settings.supabase_url.rstrip('/')}/auth/v1/health",
                headers={"apikey": settings.supabase_anon_key.get_secret_value()},
            )
        detail = f"Supabase Auth at {settings.supabase_url} answered {reply.status_code}"
        if reply.status_code == 401:
            detail += ": it refused SUPABASE_ANON_KEY"
        return reply.status_code == 200, detail
    except httpx.HTTPError as error:
        return False, f"Supabase Auth at {settings.supabase_url} unreachable: {error}"


async def _check_media(settings) -> tuple[bool, str]:
    if settings.media_mode.value == "embedded":
        return True, f"private folder {settings.data_dir / 'media'}"
    from assetry.services import media

    try:
        await media.store().size(
            "00000000-0000-0000-0000-000000000000/00000000-0000-0000-0000-000000000000/0.png"
        )
    except Exception as error:
        return False, f"bucket {settings.media_s3_bucket!r} at {settings.media_s3_endpoint}: {error}"
    return True, f"bucket {settings.media_s3_bucket!r} at {settings.media_s3_endpoint}"


async def _check_provider(name: str, settings) -> tuple[bool, str]:
    """Configured providers: can we open a connection to their host? Others run on the embedded default."""
    if settings.modes()[name].value == "embedded":
        embedded = {
            "fal.ai": "off (no FAL_KEY)",
            "gemini": "off (no GEMINI_API_KEY)",
            "anthropic": "off (no ANTHROPIC_API_KEY)",
        }
        return True, embedded.get(name, "sandbox imitation mounted in the app")
    url = urlparse(settings.provider_hosts()[name])
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(url.hostname, port), 5)
        writer.close()
    except (OSError, TimeoutError) as error:
        return False, f"{url.hostname}:{port} unreachable: {error}"
    return True, f"{url.hostname}:{port} reachable"


async def _check_redis(settings) -> tuple[bool, str]:
    if settings.state_mode.value == "embedded":
        return True, "on this machine (one backend worker)"
    import redis.asyncio as redis

    try:
        client = redis.from_url(settings.redis_url)
        await client.ping()
        await client.aclose()
        return True, f"Redis at {settings.redis_url}"
    except Exception as error:
        return False, f"Redis at {settings.redis_url}: {error}"


async def _check_mail(settings) -> tuple[bool, str]:
    from assetry.errors import ProviderError
    from assetry.services import mail

    try:
        mailer = mail.mailer(settings)
    except ValueError as error:  # a malformed SMTP_URL or MAIL_FROM
        return False, str(error)
    if mailer is None:
        return True, "kept in the outbox table (admins read it); set SMTP_URL to send"
    try:
        return True, await mailer.check()
    except ProviderError as error:
        return False, str(error)


def command_line() -> argparse.ArgumentParser:
    """The commands and their options (`serve` passes the options it does not know to `reflex run`)."""
    parser = argparse.ArgumentParser(prog="python -m assetry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="start the embedded database (unless DATABASE_URL is set), migrate, then `reflex run ARGS`",
    )
    commands.add_parser("migrate", help="apply database migrations")
    admin = commands.add_parser("create-admin", help="give an existing account the admin role")
    admin.add_argument("email")
    commands.add_parser("doctor", help="show each subsystem's mode and whether it answers")
    worker = commands.add_parser("worker", help="run background jobs (procrastinate) until stopped")
    worker.add_argument("--queues", default="", help="comma-separated queues to serve (default: all)")
    worker.add_argument("--concurrency", type=int, default=None, help="jobs run at once (JOB_CONCURRENCY)")
    worker.add_argument(
        "--health-port",
        type=int,
        default=None,
        help="also answer GET /health/live and /health/ready on this port (for container healthchecks)",
    )
    worker.add_argument("--health-host", default="127.0.0.1", help="the address the health port listens on")
    commands.add_parser(
        "rotate-keys", help="re-encrypt every stored platform token under the newest ENCRYPTION_KEYS key"
    )
    commands.add_parser(
        "purge", help="purge what the retention rules say is due now (accounts, logs, jobs, emails, exports)"
    )
    commands.add_parser(
        "make-covers",
        help="make the library covers of images saved without one (safe to run again, and while the app runs)",
    ).add_argument("--batch", type=int, default=200, help="image files read from the database at a time")
    commands.add_parser(
        "pseudonym", help="what the logs call an id (a user's, a generation's): search them for that"
    ).add_argument("id")
    commands.add_parser("smoke", help="one cheap real call per configured provider (costs a few cents)")
    for name, text in (
        ("backup", "write the whole database to FILE"),
        ("restore", "replace the whole database with the backup in FILE (stop the app first)"),
    ):
        commands.add_parser(name, help=text).add_argument("file", type=Path)
    commands.add_parser(
        "upgrade-database",
        help="bring the embedded database made by an older Postgres to this one (app stopped)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = command_line()
    args, reflex_args = parser.parse_known_args(argv)
    if reflex_args and args.command != "serve":
        parser.error(f"unrecognized arguments: {' '.join(reflex_args)}")
    logs.configure()
    if args.command == "pseudonym":
        print(logs.pseudonym(args.id))
        return 0
    from assetry.config import DeploymentRefused, get_settings
    from assetry.local_postgres import LocalDatabaseError

    if args.command == "smoke":
        from assetry.services import smoke

        return smoke.main(get_settings())
    if args.command in ("serve", "worker"):
        try:
            get_settings().refuse_unsafe_deployment()
        except DeploymentRefused as refused:
            print(refused, file=sys.stderr)
            return 2
    # SIGTERM unwinds like Ctrl-C, so an embedded server this process started is stopped.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    local = get_settings().local_postgres()
    try:
        if args.command == "upgrade-database":
            return upgrade_database(local)
        exclusive = args.command in ("serve", "restore")
        with local.owned(exclusive=exclusive) if local else contextlib.nullcontext():
            if args.command == "serve":
                if local and (old := local.data_dir / "assetry.db").exists():
                    print(f"Note: {old} is the SQLite database of an older Assetry; it is no longer read.")
                migrate()
                from assetry import serve

                return serve.run_app(reflex_args, get_settings().public_url)
            if args.command == "migrate":
                return migrate()
            if args.command == "backup":
                return backup(args.file)
            if args.command == "restore":
                return restore(args.file)
            return asyncio.run(_run_async(args))
    except LocalDatabaseError as error:
        print(error, file=sys.stderr)
        return 1


async def _answering_health(work: Awaitable[None], host: str, port: int) -> None:
    """Run the worker with its health routes served beside it, in the same event loop."""
    import uvicorn

    from assetry import web

    class _HealthServer(uvicorn.Server):
        """uvicorn, leaving the signals to the worker (SIGTERM ends the whole process, see `main`)."""

        @contextlib.contextmanager
        def capture_signals(self):
            yield

    server = _HealthServer(
        uvicorn.Config(web.worker_health(), host=host, port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await work
    finally:
        server.should_exit = True
        await serving


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(128 + signal.SIGTERM)


async def _run_async(args: argparse.Namespace) -> int:
    from assetry import db

    try:
        if args.command == "create-admin":
            return await create_admin(args.email)
        if args.command == "rotate-keys":
            return await rotate_keys()
        if args.command == "worker":
            from assetry.jobs import engine

            queues = [name.strip() for name in args.queues.split(",") if name.strip()]
            work = engine.run_worker(queues=queues or None, concurrency=args.concurrency)
            if args.health_port is None:
                await work
            else:
                await _answering_health(work, args.health_host, args.health_port)
            return 0
        if args.command == "purge":
            return await purge()
        if args.command == "make-covers":
            return await make_covers(args.batch)
        return await doctor()
    finally:
        await db.dispose_engines()
