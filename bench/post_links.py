"""Recognising posts and What works, at scale, on Postgres (database `bench_post_links`, dropped after).

One creator with 10,000 finished video generations spread over the last year, each already
fingerprinted (40 frame hashes, as a 5 s video sampled 8 times a second; the cost of making one
fingerprint from a real offline-rendered 5 s video is measured on its own).

- matching: a sync brought 1,000 new posts (the last 30 days) whose covers the sandbox TikTok
  serves (fetched in-process through its ASGI app, as sandbox mode does; a real platform adds
  its network time). 300 of them are planted matches: the cover is a picture whose dHash a
  generation finished up to a day before the post holds among its frames (a few bits flipped);
  100 more reuse a generation's prompt in their caption; the rest match nothing.
  `post_matching.match_posts` over the 1,000 is timed (proposals cleared between runs): wall
  time, and per post. How many planted matches were proposed, and how many proposals were wrong.
- What works: 10,000 of those generations linked to posts (3 snapshots each: 1 h, 24 h, 7 d),
  plus 2,000 unlinked posts; after a sync changed its inputs, the job the sync queues
  (`what_works.keep_current`) and the page load after it; a page load that came before the
  job (it computes); then 200 page loads while nothing changed (kept figures), median and p95;
  `what_worked.best_linked` (Start from what worked) too. The machine's load average is noted.

Run alone: `python -m bench.post_links [--runs 3] [--query-runs 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.harness import log, migrated_database, summary, temp_dir

POSTGRES_DB = "bench_post_links"
GENERATIONS = 10_000
NEW_POSTS = 1_000
PLANTED_COVERS = 300
PLANTED_CAPTIONS = 100
LINKED_POSTS = 10_000
UNLINKED_POSTS = 2_000
FRAMES = 40
DEFAULT_RUNS = 3
DEFAULT_QUERY_RUNS = 30
KEPT_RUNS = 200
WORDS = [
    "latte",
    "art",
    "morning",
    "routine",
    "studio",
    "lighting",
    "thrifted",
    "outfit",
    "color",
    "grade",
    "street",
    "tacos",
    "knife",
    "skills",
    "meal",
    "prep",
    "harbour",
    "sunset",
    "skate",
    "park",
    "puppy",
    "training",
    "desk",
    "setup",
    "vinyl",
    "record",
    "rainy",
    "window",
    "city",
    "walk",
    "garden",
    "tour",
    "bread",
    "baking",
    "pottery",
    "wheel",
    "mountain",
    "hike",
    "night",
    "market",
    "coffee",
    "beans",
    "yoga",
    "flow",
]


def _signed(bits: int) -> int:
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def _cover(rng: random.Random) -> bytes:
    """A small JPEG with a random layout of blocks (a stand-in for a video frame)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (270, 480), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(270), rng.randrange(480)
        draw.rectangle((x, y, x + rng.randrange(40, 160), y + rng.randrange(40, 200)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))  # fmt: skip
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    return out.getvalue()


def _prompt(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 6))


async def _seed(owner_url: str) -> dict:
    """The creator, their generations (fingerprinted), the new posts, and the linked posts."""
    import sqlalchemy as sa

    from assetry import db
    from assetry.models import Generation, GenerationOutput, MetricSnapshot, Post, PostLink, User
    from assetry.models.outcomes import VideoFingerprint
    from assetry.services import platforms, post_matching

    rng = random.Random(20261206)
    now = datetime.now(UTC).replace(microsecond=0)
    user_id = uuid.uuid4()
    generations, outputs, fingerprints = [], [], []
    for n in range(GENERATIONS):
        made = now - timedelta(days=365 * n / GENERATIONS, minutes=30)
        generation_id, output_id = uuid.uuid4(), uuid.uuid4()
        generations.append({"id": generation_id, "user_id": user_id, "kind": "video", "prompt": _prompt(rng),
                            "options": {"aspect_ratio": rng.choice(("9:16", "1:1", "16:9")),
                                        "duration_s": rng.choice((3, 5, 8))},
                            "provider": "offline", "model": "preview-video", "seed": n, "cost_usd": 0.0,
                            "status": "succeeded", "error": "", "created_at": made, "finished_at": made})  # fmt: skip
        outputs.append({"id": output_id, "user_id": user_id, "generation_id": generation_id, "position": 0,
                        "storage_key": f"bench/{output_id}.mp4", "content_type": "video/mp4", "size_bytes": 0,
                        "created_at": made})  # fmt: skip
        fingerprints.append({"id": uuid.uuid4(), "user_id": user_id, "generation_id": generation_id,
                             "output_id": output_id, "created_at": made,
                             "hashes": [_signed(rng.getrandbits(64)) for _ in range(FRAMES)]})  # fmt: skip
    # The new posts: covers served by the sandbox TikTok; some planted as matches.
    tiktok = platforms.sandbox("tiktok")
    recent = [i for i, g in enumerate(generations) if g["finished_at"] > now - timedelta(days=31)]
    posts, planted = [], {}
    for n in range(NEW_POSTS):
        posted = now - timedelta(days=30 * n / NEW_POSTS)
        cover = _cover(rng)
        caption = "a day in my life " + " ".join(rng.sample(WORDS, 2))
        source = None
        candidates = [
            i for i in recent if timedelta(0) <= posted - generations[i]["finished_at"] <= timedelta(days=1)
        ]
        if n < PLANTED_COVERS + PLANTED_CAPTIONS and candidates:
            source = rng.choice(candidates)
            if n < PLANTED_COVERS:
                frame = post_matching.image_hash(cover) & (2**64 - 1)
                flipped = frame ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
                fingerprints[source]["hashes"][rng.randrange(FRAMES)] = _signed(flipped)
            else:
                caption = generations[source]["prompt"] + " #fyp"
            planted[n] = generations[source]["id"]
        video_id = await tiktok.publish("jon.cooks", description=caption, cover_jpeg=cover, duration_s=5,
                                  width=1080, height=1920)  # fmt: skip
        posts.append({"id": uuid.uuid4(), "user_id": user_id, "source": "own", "platform": "tiktok",
                      "platform_post_id": video_id, "title": caption, "url": "",
                      "cover_url": tiktok.cover_url(video_id), "media_type": "VIDEO", "duration_s": 5.0,
                      "author": "", "posted_at": posted, "created_at": now})  # fmt: skip
    planted_posts = {posts[n]["id"]: generation for n, generation in planted.items()}
    # Linked posts with their numbers (older than the new ones), and unlinked ones.
    history, links, snapshots = [], [], []
    for n in range(LINKED_POSTS + UNLINKED_POSTS):
        posted = now - timedelta(days=40 + 300 * n / (LINKED_POSTS + UNLINKED_POSTS), hours=rng.randrange(24))
        post_id = uuid.uuid4()
        history.append({"id": post_id, "user_id": user_id, "source": "own", "platform": "tiktok",
                        "platform_post_id": f"old-{n}", "title": " ".join(rng.sample(WORDS, rng.randrange(1, 9)))
                        + " #fyp" * rng.randrange(4), "url": "", "cover_url": "", "media_type": "VIDEO",
                        "duration_s": float(rng.randrange(5, 90)), "author": "", "posted_at": posted,
                        "created_at": posted})  # fmt: skip
        lifetime = int(2_000 * rng.lognormvariate(0, 1))
        for hours, share in ((1, 0.1), (24, 0.6), (24 * 7, 1.0)):
            views = int(lifetime * share)
            snapshots.append({"id": uuid.uuid4(), "user_id": user_id, "post_id": post_id,
                              "captured_at": posted + timedelta(hours=hours), "views": views,
                              "likes": views // 12, "comments": views // 150, "shares": views // 300,
                              "missing": {}})  # fmt: skip
        if n < LINKED_POSTS:
            links.append({"id": uuid.uuid4(), "user_id": user_id, "post_id": post_id, "how": "manual",
                          "generation_id": generations[n % GENERATIONS]["id"], "created_at": now})  # fmt: skip
    try:
        async with db.service_session() as session:
            session.add(User(id=user_id, email="bench-links@example.com", age_confirmed_at=now))
            await session.flush()
            for model, rows in ((Generation, generations), (GenerationOutput, outputs),
                                (VideoFingerprint, fingerprints), (Post, posts + history),
                                (MetricSnapshot, snapshots), (PostLink, links)):  # fmt: skip
                for start in range(0, len(rows), 2000):
                    await session.exec(sa.insert(model.__table__), params=rows[start : start + 2000])
    finally:
        await db.dispose_engines()
    # As the schema's owner: the service role may not ANALYZE (without statistics, the planner
    # guesses one row per table and picks nested loops a real database would never use).
    from assetry.config import driver_url

    engine = sa.create_engine(driver_url(owner_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    return {"user_id": user_id, "new_posts": [p["id"] for p in posts], "planted": planted_posts}


async def _match_once(user_id: uuid.UUID, post_ids: list[uuid.UUID]) -> tuple[float, dict]:
    import sqlalchemy as sa

    from assetry import db
    from assetry.models import MatchProposal
    from assetry.services import post_matching

    try:
        async with db.service_session() as session:
            await session.exec(sa.delete(MatchProposal))
        started = time.perf_counter()
        report = await post_matching.match_posts(user_id, post_ids)
        elapsed = time.perf_counter() - started
        async with db.service_session() as session:
            found = dict(
                (await session.exec(sa.select(MatchProposal.post_id, MatchProposal.generation_id))).all()
            )
    finally:
        await db.dispose_engines()
    return elapsed, {"report": report, "proposals": found}


async def _what_works_runs(user_id: uuid.UUID, runs: int, kept_runs: int) -> dict:
    import sqlalchemy as sa

    from assetry import db
    from assetry.jobs.task import Context
    from assetry.services import what_worked, what_works

    async def a_sync_changed_them() -> None:  # as the triggers count a sync's snapshots
        async with db.service_session() as session:
            await session.exec(sa.text("UPDATE what_works_figures SET changes = changes + 1"))

    def ms(started: float) -> float:
        return (time.perf_counter() - started) * 1000

    found: dict[str, list[float]] = {"job": [], "after_job": [], "on_load": [], "kept": [], "starts": []}
    job = Context(payload={"user_id": str(user_id)})
    try:
        result = await what_works.what_works(user_id, "Europe/Paris")  # warm the connection pool
        for _ in range(runs):
            await a_sync_changed_them()
            started = time.perf_counter()
            await what_works.keep_current(job)  # the job a sync queues
            found["job"].append(ms(started))
            started = time.perf_counter()
            await what_works.what_works(user_id, "Europe/Paris")  # the page load after it
            found["after_job"].append(ms(started))
            await a_sync_changed_them()
            started = time.perf_counter()
            result = await what_works.what_works(user_id, "Europe/Paris")  # a load before the job ran
            found["on_load"].append(ms(started))
            started = time.perf_counter()
            await what_worked.best_linked(user_id)
            found["starts"].append(ms(started))
        for _ in range(kept_runs):
            started = time.perf_counter()
            await what_works.what_works(user_id, "Europe/Paris")
            found["kept"].append(ms(started))
    finally:
        await db.dispose_engines()
    return found | {"linked": result.linked.posts}


def _fingerprint_cost(runs: int = 5) -> list[float]:
    from assetry.integrations.offline import render_video
    from assetry.services import post_matching

    video = render_video("bench fingerprint: a barista pouring latte art", duration_s=5, seed=1)
    costs = []
    for _ in range(runs):
        started = time.perf_counter()
        post_matching.video_hashes(video.content)
        costs.append((time.perf_counter() - started) * 1000)
    return costs


def measure(runs: int = DEFAULT_RUNS, query_runs: int = DEFAULT_QUERY_RUNS) -> dict:
    results: dict = {}
    log("post links: fingerprint of one 5 s offline video")
    results["fingerprint_ms"] = summary(_fingerprint_cost())
    with (
        temp_dir("post-links") as work,
        migrated_database(work / "data", postgres_name=POSTGRES_DB) as owner_url,
    ):
        log(
            f"post links: seeding {GENERATIONS:,} generations, {NEW_POSTS:,} new posts, {LINKED_POSTS:,} linked"
        )
        seeded = asyncio.run(_seed(owner_url))
        walls, last = [], {}
        for run in range(runs):
            log(f"post links: matching run {run + 1}/{runs}")
            elapsed, last = asyncio.run(_match_once(seeded["user_id"], seeded["new_posts"]))
            walls.append(elapsed)
        proposals, planted = last["proposals"], seeded["planted"]
        results["matching_s"] = summary(walls)
        results["per_post_ms"] = summary([w * 1000 / NEW_POSTS for w in walls])
        results["planted"] = len(planted)
        results["found"] = sum(proposals.get(post) == generation for post, generation in planted.items())
        results["wrong"] = sum(planted.get(post) != generation for post, generation in proposals.items())
        results["covers_missing"] = last["report"].covers_missing
        log(f"post links: What works, {query_runs} runs, then {KEPT_RUNS} loads of kept figures")
        found = asyncio.run(_what_works_runs(seeded["user_id"], query_runs, KEPT_RUNS))
        for key in ("job", "after_job", "on_load", "kept", "starts"):
            results[f"what_works_{key}_ms"] = summary(found[key])
        results["linked_posts"] = found["linked"]
    results["load_average"] = os.getloadavg()
    return results


def report(results: dict) -> list[str]:
    def row(label: str, stats: dict, fmt: str) -> str:
        return f"  {label:<50}{stats['n']:>3}{stats['median']:>10{fmt}}{stats['p95']:>10{fmt}}"

    return [
        f"\nRecognising posts and What works (Postgres, {GENERATIONS:,} generations)",
        f"  {'':<50}{'n':>3}{'median':>10}{'p95':>10}",
        row("fingerprint one 5 s video (ms)", results["fingerprint_ms"], ".0f"),
        row(f"match {NEW_POSTS:,} new posts (s)", results["matching_s"], ".2f"),
        row("  per post (ms)", results["per_post_ms"], ".2f"),
        f"  planted matches proposed: {results['found']} of {results['planted']}; wrong proposals: "
        f"{results['wrong']}; covers that could not be read: {results['covers_missing']}",
        f"  What works, {results['linked_posts']:,} linked posts (ms):",
        row("  computed by the job a sync queues", results["what_works_job_ms"], ".1f"),
        row("  page load after that job (kept figures)", results["what_works_after_job_ms"], ".1f"),
        row("  page load before the job ran (computes)", results["what_works_on_load_ms"], ".1f"),
        row("  page load while nothing changed (kept figures)", results["what_works_kept_ms"], ".1f"),
        row("Start from what worked: best linked (ms)", results["what_works_starts_ms"], ".1f"),
        "  load average during the run (1, 5, 15 min): "
        + ", ".join(f"{load:.1f}" for load in results["load_average"])
        + f" on {os.cpu_count()} cores",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.post_links", description=__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="matching runs")
    parser.add_argument("--query-runs", type=int, default=DEFAULT_QUERY_RUNS, help="What works loads")
    args = parser.parse_args(argv)
    print("\n".join(report(measure(args.runs, args.query_runs))))


if __name__ == "__main__":
    main()
