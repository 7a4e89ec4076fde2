"""How an account card on /analytics says when it last synced and when it syncs next."""

from __future__ import annotations

from datetime import timedelta

from assetry.models.base import utcnow
from assetry.pages.analytics.connections import _next_sync, _when


def test_times_read_as_a_creator_says_them() -> None:
    now = utcnow()
    assert _when(None, "not yet") == "not yet"
    assert _when(now - timedelta(seconds=20), "not yet") == "just now"
    assert _when(now - timedelta(minutes=12, seconds=5), "not yet") == "12 min ago"
    assert _when(now + timedelta(minutes=30, seconds=30), "unknown") == "in 30 min"
    assert _when(now + timedelta(seconds=40), "unknown") == "in under a minute"
    assert _when(now + timedelta(hours=23, minutes=59), "unknown") == "in 23 h"
    assert _when(now - timedelta(days=3, hours=1), "not yet") == "3 days ago"


def test_a_sync_that_is_due_is_coming_soon_not_minutes_ago() -> None:
    now = utcnow()
    assert _next_sync(now - timedelta(minutes=3)) == "soon"
    assert _next_sync(now) == "soon"
    assert _next_sync(now + timedelta(minutes=59, seconds=30)) == "in 59 min"
    assert _next_sync(None) == "not scheduled"
