"""A Redis database of a test's own, for tests that empty the one they use.

Two test runs on one machine (two checkouts, CI beside a developer) share one Redis server: a
test that flushes a fixed database number would empty the other run's. Each lease is a key in
database 15, the registry, set only if absent and expiring on its own should a run be killed;
the leased database (0–14) is emptied before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import redis

SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REGISTRY = 15
LEASE_SECONDS = 2 * 60 * 60


@contextmanager
def own_redis_database() -> Iterator[str]:
    """The URL of a Redis database no other test run holds, empty, emptied again afterwards."""
    registry = redis.Redis.from_url(f"{SERVER}/{REGISTRY}")
    holder = f"{os.getpid()}@{os.uname().nodename}"
    for number in range(REGISTRY):
        if registry.set(f"assetry-tests:lease:{number}", holder, nx=True, ex=LEASE_SECONDS):
            break
    else:
        raise RuntimeError(f"every Redis database 0–{REGISTRY - 1} at {SERVER} is leased by another test run")
    url = f"{SERVER}/{number}"
    database = redis.Redis.from_url(url)
    database.flushdb()
    try:
        yield url
    finally:
        database.flushdb()
        database.close()
        registry.delete(f"assetry-tests:lease:{number}")
        registry.close()
