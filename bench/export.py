"""Data export of a big account into object storage and to local disk: wall time and peak memory.

A user with 10,000 generations (and their outputs), 1,000 posts with 100,000 metric snapshots
and 500 MB of media files (random bytes, so nothing compresses) is seeded into Postgres
(BENCH_POSTGRES_URL's server). Then, for each storage, the media are put there and the export
(`privacy.build_export`, the job's own code) runs in a fresh process, several times:

- object storage: moto's S3 server in its own process on loopback; media read from the bucket,
  the archive streamed back into it in multipart parts (the app's configured mode). moto is a
  Python server: its own CPU time per export is reported too, as it weighs on the wall time here
  and would not on a real S3 service;
- local disk: media in DATA_DIR/media, the archive written beside them (the embedded mode).

Each run reports its wall time, its CPU time (all threads: what a busy machine cannot inflate)
and the process's peak resident memory (VmHWM; and the peak after imports, before the export),
so memory that grew with the archive would show: compare --media-mb 100 with 500. Baseline (issue 15): 259 s on Postgres to local disk.

The floor, measured as many times beside it: the same media files copied, in a fresh process,
into one object of the same storage through the app's storage layer (the same reads, the same
multipart upload), with no ZIP and no records. What the export takes beyond it is its own.

Usage: python -m bench.export [--runs 3] [--media-mb 500] [--storage s3 local]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bench.harness import free_port, log, migrated_database, summary, temp_dir

GENERATIONS = 10_000
POSTS = 1_000
SNAPSHOTS = 100_000
FILE_MB = 5
DEFAULT_RUNS = 3
DEFAULT_MEDIA_MB = 500
POSTGRES_DB = "assetry_bench_export"
BASELINE_S = 259.0  # issue 15: the export on Postgres to local disk, before this work
STORAGES = ("s3", "local")
S3_KEYS = {
    "MEDIA_S3_ACCESS_KEY": "bench",
    "MEDIA_S3_SECRET_KEY": "bench-secret",
    "MEDIA_S3_REGION": "us-east-1",
}


def seed_rows(owner_url: str, media_mb: int) -> tuple[str, list[str]]:
    """The account's rows; returns its id and the storage keys of its media files."""
    import sqlalchemy as sa

    from assetry.config import driver_url
    from assetry.models import Generation, GenerationOutput, MetricSnapshot, Post, User
    from assetry.models.base import utcnow
    from assetry.services import media

    engine = sa.create_engine(driver_url(owner_url))
    now = utcnow()
    user_id = uuid.uuid4()
    gens = [uuid.uuid4() for _ in range(GENERATIONS)]
    files = media_mb // FILE_MB
    outputs, keys = [], []
    for i, gid in enumerate(gens):
        key = media.key_for(user_id, gid, 0, "video/mp4") if i < files else None
        if key:
            keys.append(key)
        outputs.append(
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "generation_id": gid,
                "position": 0,
                "storage_key": key,
                "content_type": "video/mp4" if key else "",
                "size_bytes": FILE_MB * 1024 * 1024 if key else 0,
                "text": None if key else f"Caption number {i} #fyp",
                "created_at": now,
            }
        )
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
    return str(user_id), keys


def _contents(keys: list[str]):
    """Each media file's bytes: random (incompressible), and different from file to file."""
    block = random.randbytes(FILE_MB * 1024 * 1024)
    for i, key in enumerate(keys):
        yield key, i.to_bytes(8, "big") + block[8:]


def put_local(data_dir: Path, keys: list[str]) -> None:
    for key, content in _contents(keys):
        path = data_dir / "media" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def put_s3(endpoint: str, bucket: str, keys: list[str]):
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEYS["MEDIA_S3_ACCESS_KEY"],
        aws_secret_access_key=S3_KEYS["MEDIA_S3_SECRET_KEY"],
        region_name=S3_KEYS["MEDIA_S3_REGION"],
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket=bucket)
    for key, content in _contents(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=content, ContentType="video/mp4")
    return s3


def measure_once(user_id: str) -> dict:
    """Run one export in this (fresh) process; its wall time and peak RSS."""
    import asyncio

    from assetry import db
    from assetry.services import media, privacy

    export_id = uuid.uuid4()

    async def run() -> dict:
        try:
            return await privacy.build_export(uuid.UUID(user_id), export_id)
        finally:
            await db.dispose_engines()

    media.store()  # a worker makes its storage client once, not per export (as the floor's is made)
    before, rss_before = resource.getrusage(resource.RUSAGE_SELF), _memory("VmHWM")
    started = time.perf_counter()
    result = asyncio.run(run())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "export_id": str(export_id),
        "wall_s": wall,
        "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_before_mb": rss_before,
        "rss_peak_mb": _memory("VmHWM"),
        "archive_mb": result["size"] / 2**20,
        "records": result["records"],
        "files": result["files"],
    }


def copy_once(keys_path: str) -> dict:
    """The floor: the media files copied into one object of the configured storage, as an export
    copies them, with nothing else; its wall time and peak RSS."""
    import shutil

    from assetry.integrations.storage import COPY_CHUNK, export_key
    from assetry.services import media

    keys = Path(keys_path).read_text().split()
    target = export_key(uuid.UUID(keys[0].split("/")[0]), uuid.uuid4())
    store = media.store()
    before, rss_before = resource.getrusage(resource.RUSAGE_SELF), _memory("VmHWM")
    started = time.perf_counter()
    upload = store.open_upload(target, "application/octet-stream")
    for key in keys:
        with store.open_read(key) as source:
            shutil.copyfileobj(source, upload, COPY_CHUNK)
    size = upload.commit()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "export_id": target.rsplit("/", 1)[1].removesuffix(".zip"),
        "wall_s": wall,
        "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_before_mb": rss_before,
        "rss_peak_mb": _memory("VmHWM"),
        "archive_mb": size / 2**20,
        "records": 0,
        "files": len(keys),
    }


def _memory(field: str) -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident memory, MB. Not ru_maxrss: a child
    started by fork and exec inherits its parent's high-water mark there."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runs(
    what: list[str], runs: int, env: dict[str, str], label: str, remove, server_pid: int | None = None
) -> dict:
    """`runs` runs of one measurement (`what`: the arguments of its fresh process)."""
    done = []
    for run in range(runs):
        log(f"export: {label}, run {run + 1}/{runs}")
        server_cpu = _cpu_seconds(server_pid) if server_pid else 0.0
        out = subprocess.run(
            [sys.executable, "-m", "bench.export", *what],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"the export ({label}) failed:\n{out.stderr[-3000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["server_cpu_s"] = _cpu_seconds(server_pid) - server_cpu if server_pid else 0.0
        figures["load"] = os.getloadavg()[0]  # others' work on this machine stretches the wall time
        remove(figures["export_id"])  # the next run starts from the same storage
        done.append(figures)
    last = done[-1]
    return {
        "wall_s": summary([d["wall_s"] for d in done]),
        "cpu_s": summary([d["cpu_s"] for d in done]),
        "server_cpu_s": summary([d["server_cpu_s"] for d in done]),
        "rss_peak_mb": summary([d["rss_peak_mb"] for d in done]),
        "rss_before_mb": summary([d["rss_before_mb"] for d in done]),
        "load": summary([d["load"] for d in done]),
        "archive_mb": last["archive_mb"],
        "records": last["records"],
        "files": last["files"],
    }


def measure(runs: int = DEFAULT_RUNS, media_mb: int = DEFAULT_MEDIA_MB, storages=STORAGES) -> dict:
    from assetry.integrations.storage import export_key

    results: dict = {"media_mb": media_mb, "baseline_s": BASELINE_S}
    with temp_dir("export") as work, migrated_database(work / "data", postgres_name=POSTGRES_DB) as owner_url:
        log(f"export: seeding {GENERATIONS:,} generations, {SNAPSHOTS:,} snapshots")
        user_id, keys = seed_rows(owner_url, media_mb)
        env = dict(os.environ)  # DATA_DIR and DATABASE_URL of the seeded database
        keys_path = work / "keys.txt"
        keys_path.write_text("\n".join(keys))
        export, floor = ["--measure-once", user_id], ["--copy-once", str(keys_path)]
        if "local" in storages:
            log(f"export: {media_mb} MB of media to DATA_DIR/media")
            put_local(work / "data", keys)
            store_root = work / "data" / "media"

            def remove_local(export_id: str) -> None:
                (store_root / export_key(user_id, export_id)).unlink()

            results["local"] = _runs(export, runs, env, "local disk", remove_local)
            results["local_floor"] = _runs(floor, runs, env, "local disk, floor", remove_local)
            shutil.rmtree(store_root / user_id)
        if "s3" in storages:
            port = free_port()
            moto = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                endpoint = f"http://127.0.0.1:{port}"
                _wait_for(endpoint)
                log(f"export: {media_mb} MB of media into moto's S3 server")
                s3 = put_s3(endpoint, "assetry-bench", keys)
                s3_env = env | S3_KEYS | {"MEDIA_S3_ENDPOINT": endpoint, "MEDIA_S3_BUCKET": "assetry-bench"}

                def remove_s3(export_id: str) -> None:
                    s3.delete_object(Bucket="assetry-bench", Key=export_key(user_id, export_id))

                results["s3"] = _runs(export, runs, s3_env, "object storage", remove_s3, moto.pid)
                results["s3_floor"] = _runs(floor, runs, s3_env, "object storage, floor", remove_s3, moto.pid)
            finally:
                moto.terminate()
                moto.wait(timeout=20)
    return results


def _wait_for(endpoint: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(endpoint, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"moto's S3 server did not answer at {endpoint}")


def report(results: dict) -> list[str]:
    lines = [
        f"\nData export: {GENERATIONS:,} generations, {SNAPSHOTS:,} snapshots, {results['media_mb']} MB of media "
        f"(Postgres; baseline {results['baseline_s']:.0f} s to local disk)",
        f"  {'':<50}{'n':>3}{'median':>10}{'p95':>10}{'baseline':>10}{'ratio':>9}",
    ]
    for storage, label in (("s3", "into object storage (moto S3 server)"), ("local", "to local disk")):
        if storage not in results:
            continue
        found, floor = results[storage], results[f"{storage}_floor"]
        wall = found["wall_s"]
        lines += [
            f"  {label + ', wall time (s)':<50}{wall['n']:>3}{wall['median']:>10.2f}{wall['p95']:>10.2f}"
            f"{results['baseline_s']:>10.0f}{wall['median'] / results['baseline_s']:>8.3f}×",
            *_details(found),
            f"    after imports {found['rss_before_mb']['median']:.1f} MB; archive {found['archive_mb']:.1f} MB, "
            f"{found['records']:,} records, {found['files']} files",
            f"  {'  floor: the media alone copied, wall time (s)':<50}{floor['wall_s']['n']:>3}"
            f"{floor['wall_s']['median']:>10.2f}{floor['wall_s']['p95']:>10.2f}{'export ÷ floor':>19}"
            f"{wall['median'] / floor['wall_s']['median']:>6.2f}×",
            *(f"  {line}" for line in _details(floor)),
        ]
    return lines


def _details(found: dict) -> list[str]:
    cpu, rss, load = found["cpu_s"], found["rss_peak_mb"], found["load"]
    server = found["server_cpu_s"]
    return [
        f"  {'  CPU time of the process, all threads (s)':<50}{cpu['n']:>3}{cpu['median']:>10.2f}{cpu['p95']:>10.2f}",
        *(
            [
                f"  {'  CPU time of the moto S3 server meanwhile (s)':<50}{server['n']:>3}"
                f"{server['median']:>10.2f}{server['p95']:>10.2f}"
            ]
            if server["median"]
            else []
        ),
        f"  {'  peak RSS (MB)':<50}{rss['n']:>3}{rss['median']:>10.1f}{rss['p95']:>10.1f}",
        f"  {'  machine load (1-minute average, 2 cores)':<50}{load['n']:>3}{load['median']:>10.1f}{load['p95']:>10.1f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--media-mb", type=int, default=DEFAULT_MEDIA_MB)
    parser.add_argument("--storage", nargs="+", choices=STORAGES, default=list(STORAGES))
    parser.add_argument("--measure-once", metavar="USER_ID", help=argparse.SUPPRESS)
    parser.add_argument("--copy-once", metavar="KEYS_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_once or args.copy_once:
        figures = measure_once(args.measure_once) if args.measure_once else copy_once(args.copy_once)
        print(json.dumps(figures))
        return
    print("\n".join(report(measure(args.runs, args.media_mb, args.storage))))


if __name__ == "__main__":
    main()
