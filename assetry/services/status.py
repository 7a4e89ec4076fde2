"""Whether the service can do its work right now (`/health`, `/health/ready` and the worker's own ask).

Readiness names each part it needs and whether it answers: the database always; Redis and object
storage when they are configured; and a job worker, known alive by the heartbeat procrastinate's
workers write every few seconds into `procrastinate_workers` (a row per running worker, removed
when it stops; a killed worker's row stops being refreshed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import sqlalchemy as sa

from assetry import db
from assetry.config import Mode, get_settings
from assetry.jobs.engine import stalled_after_seconds

TIMEOUT_S = 5
REFUSED = {"404": "no bucket named {bucket!r}", "NoSuchBucket": "no bucket named {bucket!r}",
           "403": "the keys were refused"}  # fmt: skip
OK = "ok"


async def database_answers() -> bool:
    """Whether the database answers a query within a few seconds."""
    try:
        async with asyncio.timeout(TIMEOUT_S), db.service_session() as session:
            await session.exec(sa.text("SELECT 1"))
    except (OSError, TimeoutError, sa.exc.DBAPIError):
        return False
    return True


async def _database() -> str:
    return OK if await database_answers() else "unreachable"


async def _redis() -> str:
    import redis.asyncio as redis
    from redis.exceptions import RedisError

    client = redis.from_url(get_settings().redis_url, socket_connect_timeout=TIMEOUT_S)
    try:
        await client.ping()
    except (OSError, RedisError):
        return "unreachable"
    finally:
        await client.aclose()
    return OK


async def _storage() -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    from assetry.services import media

    try:
        # The first call builds the S3 client (imports boto3): not on the event loop.
        store = await asyncio.to_thread(media.store)
        await store.check_bucket()
    except ClientError as refused:
        code = refused.response.get("Error", {}).get("Code", "")
        bucket = get_settings().media_s3_bucket
        return REFUSED.get(code, f"refused ({code or 'error'})").format(bucket=bucket)
    except (OSError, BotoCoreError):
        return "unreachable"
    return OK


async def _worker() -> str:
    silent = stalled_after_seconds()
    try:
        async with db.service_session() as session:
            alive = await session.scalar(
                sa.text(
                    "SELECT count(*) FROM procrastinate_workers "
                    "WHERE last_heartbeat > now() - make_interval(secs => :fresh)"
                ),
                params={"fresh": silent},
            )
    except (OSError, sa.exc.DBAPIError):
        return "unknown (database unreachable)"
    return OK if alive else f"no job worker sent a heartbeat in the last {silent:.0f} s"


async def readiness(*, redis: bool = True) -> dict[str, str]:
    """Each part the service needs, "ok" or what is wrong with it (asked at once, a few seconds each).
    `redis=False` for the worker process, which keeps no UI state."""
    settings = get_settings()
    checks: dict[str, Callable[[], Awaitable[str]]] = {"database": _database}
    if redis and settings.state_mode is Mode.CONFIGURED:
        checks["redis"] = _redis
    if settings.media_mode is Mode.CONFIGURED:
        checks["storage"] = _storage
    checks["worker"] = _worker

    async def bounded(check: Callable[[], Awaitable[str]]) -> str:
        try:
            async with asyncio.timeout(TIMEOUT_S):
                return await check()
        except TimeoutError:
            return f"no answer within {TIMEOUT_S} s"

    results = await asyncio.gather(*(bounded(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


def statements_for_pages() -> int | None:
    """Statements this process sent for pages and requests, not jobs (None unless COUNT_STATEMENTS)."""
    return db.statements_for_pages if get_settings().count_statements else None
