"""Data export of a big account: wall time and peak memory.

A user with 10,000 generations (and their outputs), 1,000 posts with 100,000 metric
snapshots, and 500 MB of media files (random bytes, so nothing compresses) is seeded
into the embedded Postgres of a temporary DATA_DIR (or the server of `--database-url`), then exported
by `privacy.build_export` in a fresh process that reports wall time, the peak of
Python allocations (tracemalloc) and its peak RSS.

Usage: python -m bench.export [--media-mb 500] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

GENERATIONS = 10_000
POSTS = 1_000
SNAPSHOTS = 100_000
FILE_MB = 5


def seed(data_dir: Path, database_url: str | None, media_mb: int) -> str:
    """Migrate and fill the database and the media folder; returns the user id."""
    os.environ["DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    from alembic.config import Config

    from alembic import command
    from assetry.config import ROOT, driver_url, get_settings

    get_settings.cache_clear()
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")

    import sqlalchemy as sa

    from assetry.models import Generation, GenerationOutput, MetricSnapshot, Post, User
    from assetry.models.base import utcnow
    from assetry.services import media

    engine = sa.create_engine(driver_url(get_settings().owner_database_url))
    now = utcnow()
    user_id = uuid.uuid4()
    gens = [uuid.uuid4() for _ in range(GENERATIONS)]
    files = media_mb // FILE_MB
    block = random.randbytes(FILE_MB * 1024 * 1024)
    root = data_dir / "media"
    outputs = []
    for i, gid in enumerate(gens):
        key = media.key_for(user_id, gid, 0, "video/mp4") if i < files else None
        outputs.append(
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "generation_id": gid,
                "position": 0,
                "storage_key": key,
                "content_type": "video/mp4" if key else "",
                "size_bytes": len(block) if key else 0,
                "text": None if key else f"Caption number {i} #fyp",
                "created_at": now,
            }
        )
        if key:
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(i.to_bytes(8, "big") + block[8:])
    posts = [uuid.uuid4() for _ in range(POSTS)]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(User.__table__),
            [
                {
                    "id": user_id,
                    "email": "bench@example.com",
                    "display_name": "Bench",
                    "auth_backend": "local",
                    "is_admin": False,
                    "is_disabled": False,
                    "in_eu": False,
                    "time_zone": "UTC",
                    "product_emails": False,
                    "usage_opt_out": False,
                    "age_confirmed_at": now,
                    "created_at": now,
                }
            ],
        )
        conn.execute(
            sa.insert(Generation.__table__),
            [
                {
                    "id": gid,
                    "user_id": user_id,
                    "kind": "video",
                    "prompt": f"A cat surfing a wave at sunset, take {i}",
                    "options": {"duration": 8, "aspect_ratio": "9:16"},
                    "provider": "offline",
                    "model": "offline-video",
                    "seed": i,
                    "cost_usd": 0.0,
                    "status": "succeeded",
                    "error": "",
                    "created_at": now - timedelta(minutes=i),
                }
                for i, gid in enumerate(gens)
            ],
        )
        conn.execute(sa.insert(GenerationOutput.__table__), outputs)
        conn.execute(
            sa.insert(Post.__table__),
            [
                {
                    "id": pid,
                    "user_id": user_id,
                    "source": "own",
                    "platform": "tiktok",
                    "platform_post_id": str(i),
                    "title": f"Post {i}",
                    "url": f"https://www.tiktok.com/@bench/video/{i}",
                    "cover_url": "",
                    "media_type": "video",
                    "author": "bench",
                    "posted_at": now - timedelta(days=i % 365),
                    "created_at": now,
                }
                for i, pid in enumerate(posts)
            ],
        )
        for start in range(0, SNAPSHOTS, 20_000):
            conn.execute(
                sa.insert(MetricSnapshot.__table__),
                [
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "post_id": posts[i % POSTS],
                        "captured_at": now - timedelta(hours=i // POSTS),
                        "views": i * 13,
                        "likes": i,
                        "comments": i // 10,
                        "shares": i // 50,
                        "missing": {},
                    }
                    for i in range(start, min(SNAPSHOTS, start + 20_000))
                ],
            )
    engine.dispose()
    return str(user_id)


def measure(data_dir: Path, database_url: str | None, user_id: str) -> dict:
    """Run the export in this (fresh) process and report wall time and peak memory."""
    import asyncio
    import tracemalloc

    os.environ["DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["DATABASE_URL"] = database_url

    from assetry import db
    from assetry.services import privacy

    async def run() -> dict:
        try:
            return await privacy.build_export(uuid.UUID(user_id), uuid.uuid4())
        finally:
            await db.dispose_engines()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    result = asyncio.run(run())
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "wall_s": round(wall, 2),
        "python_peak_mb": round(peak / 2**20, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "archive_mb": round(result["size"] / 2**20, 1),
        "records": result["records"],
        "files": result["files"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media-mb", type=int, default=500)
    parser.add_argument(
        "--database-url", default=None, help="an empty Postgres database (default: the embedded server)"
    )
    parser.add_argument("--measure", nargs=2, metavar=("DATA_DIR", "USER_ID"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.database_url, args.measure[1])))
        return
    from assetry.local_postgres import LocalPostgres

    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assetry-bench-export-")))
        if not args.database_url:  # the measuring process uses this server too
            stack.enter_context(LocalPostgres(data_dir).owned(exclusive=True))
        started = time.perf_counter()
        user_id = seed(data_dir, args.database_url, args.media_mb)
        print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        command = [sys.executable, "-m", "bench.export", "--measure", str(data_dir), user_id]
        if args.database_url:
            command += ["--database-url", args.database_url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"Export of {GENERATIONS:,} generations, {SNAPSHOTS:,} metric snapshots, {args.media_mb} MB of media "
        f"({'Postgres at --database-url' if args.database_url else 'embedded Postgres'}):\n"
        f"  wall time            {figures['wall_s']:>8.2f} s\n"
        f"  peak Python memory   {figures['python_peak_mb']:>8.1f} MB (tracemalloc)\n"
        f"  peak RSS             {figures['rss_peak_mb']:>8.1f} MB (process after imports: "
        f"{figures['rss_before_mb']:.1f} MB)\n"
        f"  archive              {figures['archive_mb']:>8.1f} MB, {figures['records']:,} records, "
        f"{figures['files']} files"
    )


if __name__ == "__main__":
    main()
