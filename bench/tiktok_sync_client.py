"""How long the TikTok client takes to page through a 5,000-video account against the imitation.

Runs alone: `python -m bench.tiktok_sync_client [--videos 5000] [--runs 5]`.
Two transports: real HTTP to the imitation under uvicorn on 127.0.0.1 (what the
sync job does in sandbox mode), and in-process ASGI (no sockets: the cost of the
client plus the imitation alone). The rate limit is off (a 5,000-video account
takes ~260 list requests, under TikTok's 600 a minute, but repeated runs would
not be). No database: this is the client's share of a first sync.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetry.integrations.tiktok import TikTokClient
from assetry.sandbox.tiktok import TikTokImitation

CALLBACK = "http://127.0.0.1:3000/oauth/tiktok/callback"
HANDLE = "bench.5k"


def serve(imitation: TikTokImitation) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(imitation.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


async def connect(client: TikTokClient, http: httpx.AsyncClient, imitation: TikTokImitation) -> str:
    """Consent (Allow, the bench creator) and code exchange; returns an access token."""
    url = client.authorize_url("bench", CALLBACK)
    form = {
        "client_key": imitation.client_key,
        "redirect_uri": CALLBACK,
        "state": "bench",
        "response_type": "code",
        "requested": "user.info.basic,video.list",
        "scope": "video.list",
        "account": HANDLE,
        "decision": "allow",
    }
    answer = await http.post(
        url, content=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    tokens = await client.exchange_code(client.code_from_callback(query), CALLBACK)
    return tokens.access_token


async def one_pass(client: TikTokClient, token: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    videos = pages = 0
    async for page in client.all_videos(token):
        videos += len(page.posts)
        pages += 1
    return time.perf_counter() - started, videos, pages


async def _measure_transport(
    http: httpx.AsyncClient, base: str, imitation: TikTokImitation, runs: int
) -> dict:
    client = TikTokClient(
        http,
        client_key=imitation.client_key,
        client_secret=imitation.client_secret,
        authorize_base=base,
        api_base=base,
        clock=lambda: imitation.now,
    )
    token = await connect(client, http, imitation)
    await one_pass(client, token)  # warm-up: imports, connection, caches
    results = [await one_pass(client, token) for _ in range(runs)]
    seconds = [r[0] for r in results]
    _, videos, pages = results[0]
    return {
        "n": runs,
        "videos": videos,
        "pages": pages,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
    }


async def _measure(videos: int, runs: int) -> dict:
    imitation = TikTokImitation(now=datetime(2026, 11, 20, 12, tzinfo=UTC), rate_limit_per_minute=None)
    imitation.add_creator(HANDLE, "Bench 5k (sandbox)", videos=videos)
    results = {"videos": videos, "listed": len(await imitation.public_videos(HANDLE)), "runs": runs}
    base, server, thread = serve(imitation)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            results["http"] = await _measure_transport(http, base, imitation, runs)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=imitation.app)) as http:
        results["asgi"] = await _measure_transport(http, "http://sandbox", imitation, runs)
    return results


def measure(videos: int = 5000, runs: int = 5) -> dict:
    """Seconds to page through the account over HTTP (uvicorn) and in-process (ASGI)."""
    return asyncio.run(_measure(videos, runs))


def report(results: dict) -> list[str]:
    lines = [
        f"\nTikTok client paging a {results['videos']:,}-video account ({results['listed']:,} listed), "
        f"no database, {results['runs']} runs after a warm-up [s]"
    ]
    for key, label in (("http", "HTTP (uvicorn, 127.0.0.1)"), ("asgi", "in-process ASGI")):
        r = results[key]
        lines.append(
            f"  {label:<28} {r['videos']:>6} videos {r['pages']:>4} pages  median {r['median']:6.2f} s  "
            f"min {r['min']:6.2f} s  max {r['max']:6.2f} s  "
            f"{r['videos'] / r['median']:>8,.0f} videos/s  {r['median'] / r['pages'] * 1000:5.1f} ms/page"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(report(measure(args.videos, args.runs))))


if __name__ == "__main__":
    main()
