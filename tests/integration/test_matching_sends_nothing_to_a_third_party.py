"""Matching never sends anything to a third party: every request the process makes while the
match job of a real sync runs is recorded, at three levels, and only two kinds are allowed:
a GET of each new post's own cover image from the platform that serves it, and the database.

- httpx (every client and SDK we use, fal, Gemini, Anthropic, Apify's included, sends through
  `Client.send`): the method, URL and where it went (a sandbox app in-process, or the network);
- Python sockets (any other client): every address connected to, and every name resolved;
- the operating system (clients written in C or Rust): every TCP peer of this process,
  sampled while the job runs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psutil
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.models import Post
from assetry.services import connections, platforms, post_matching, sandbox_posting
from tests.integration.test_post_matching import CAT, a_video, proposed
from tests.integration.test_tiktok_connection import connect, new_user, run_jobs

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
SAMPLE_EVERY_S = 0.02


@dataclass
class Outgoing:
    """What left the process: httpx requests, socket connections and names, TCP peers."""

    requests: list[tuple[str, str, object]] = field(default_factory=list)  # method, URL, app or "network"
    connected: set[tuple[str, int]] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)
    peers: set[tuple[str, int]] = field(default_factory=set)

    def sample_peers(self) -> None:
        for conn in psutil.Process().net_connections(kind="inet"):
            if conn.raddr:
                self.peers.add((conn.raddr.ip, conn.raddr.port))


def _where(client: httpx.AsyncClient | httpx.Client, request: httpx.Request) -> object:
    transport = client._transport_for_url(request.url)
    return transport.app if isinstance(transport, httpx.ASGITransport | httpx.WSGITransport) else "network"


@contextlib.contextmanager
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Outgoing]:
    out = Outgoing()
    async_send, send = httpx.AsyncClient.send, httpx.Client.send
    connect_, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    async def recording_async_send(self, request, **kwargs):
        out.requests.append((request.method, str(request.url), _where(self, request)))
        return await async_send(self, request, **kwargs)

    def recording_send(self, request, **kwargs):
        out.requests.append((request.method, str(request.url), _where(self, request)))
        return send(self, request, **kwargs)

    def address(sock: socket.socket, to) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            out.connected.add((to[0], to[1]))

    def recording_connect(self, to):
        address(self, to)
        return connect_(self, to)

    def recording_connect_ex(self, to):
        address(self, to)
        return connect_ex(self, to)

    def recording_getaddrinfo(host, *args, **kwargs):
        out.resolved.add(host.decode() if isinstance(host, bytes) else str(host))
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", recording_async_send)
    monkeypatch.setattr(httpx.Client, "send", recording_send)
    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", recording_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    done = threading.Event()

    def sampling() -> None:
        while not done.wait(SAMPLE_EVERY_S):
            out.sample_peers()

    sampler = threading.Thread(target=sampling, daemon=True)
    out.sample_peers()
    sampler.start()
    try:
        yield out
    finally:
        out.sample_peers()
        done.set()
        sampler.join()
        monkeypatch.undo()


def database_address() -> tuple[str, int]:
    url = make_url(get_settings().app_database_url)
    return url.host or "127.0.0.1", url.port or 5432


async def test_matching_never_sends_anything_to_a_third_party(database: str, monkeypatch) -> None:
    tiktok = platforms.sandbox("tiktok")
    tiktok.faults.clear()
    tiktok.rate_limit_per_minute = None
    user, session_token = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    account = await connect(user, session_token, tiktok)
    await run_jobs()  # the first sync, and its matching
    cat = await a_video(user, CAT, 1, hours_ago=2)
    await sandbox_posting.post_in_sandbox(user, cat)
    await connections.sync_now(user, account.account_id)
    await run_jobs(tasks=[connections.SYNC_TASK])  # the sync alone: its match job waits
    async with db.service_session() as session:
        known = dict((await session.exec(select(Post.id, Post.cover_url).where(Post.user_id == user))).all())

    with recorded(monkeypatch) as out:
        await run_jobs(tasks=[post_matching.TASK])
        await asyncio.sleep(2 * SAMPLE_EVERY_S)

    [(post, generation)] = (await proposed(user)).items()  # matching ran, and saw the cover
    assert generation == cat
    sandbox = get_settings().public_url.rstrip("/") + f"{platforms.SANDBOX_PREFIX}/tiktok/"
    assert known[post].startswith(sandbox)
    assert out.requests == [("GET", "http://sandbox/" + known[post][len(sandbox) :], tiktok.app)]
    host, port = database_address()
    database_ips = {info[4][0] for info in socket.getaddrinfo(host, port)}
    assert out.resolved <= {host}, out.resolved
    assert {ip for ip, _ in out.connected} <= database_ips and {p for _, p in out.connected} <= {port}
    assert out.peers, "the sampler saw not even the database"
    assert {ip for ip, _ in out.peers} <= database_ips and {p for _, p in out.peers} <= {port}, out.peers
