"""Reflex configuration: Radix themes, no auto setters, no telemetry, no badge, own-origin CORS."""

import os

import reflex as rx

from assetry.config import get_settings
from assetry.web_bundle import FewerChunks
from assetry.web_styles import TrimmedRadixThemes

settings = get_settings()
UI_STATE_SECONDS = 3600
if settings.redis_url:
    # A backend keeps a busy tab's state in its own memory between events (Reflex's opportunistic
    # lock, held for up to half the lock's 10 s and given up at once when another backend, worker
    # or handler asks for that tab): an event then costs no Redis round trip instead of five, and
    # no unpickling and pickling of the tab's states. Redis gets the state when the lease ends.
    os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")

config = rx.Config(
    app_name="assetry",
    plugins=[
        TrimmedRadixThemes(theme=rx.theme(accent_color="violet", radius="large", has_background=True)),
        FewerChunks(),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Auto setters are off by default since Reflex 0.9 (the option itself is deprecated).
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # A phone on a slow network waits for every byte before the first paint (the module scripts
    # load at high priority beside the stylesheet): brotli files are a quarter smaller than gzip
    # (Radix's stylesheet 83 -> 50 KB); gzip stays for browsers without brotli.
    frontend_compression_formats=["brotli", "gzip"],
    cors_allowed_origins=[settings.origin],
    redis_url=settings.redis_url,
    # UI state holds user data (emails, notes, prompts): never on disk. In the process's memory
    # when there is one backend worker, in Redis (several workers) with every tab's keys
    # expiring an hour after its last event; a log-out, a changed session or a deleted
    # account empties it sooner (assetry/state/session.py): in the backend's memory at once,
    # in Redis when the backend's lease on the tab ends (within 5 s).
    state_manager_mode="redis" if settings.redis_url else "memory",
    redis_token_expiration=UI_STATE_SECONDS,
    # The app never uses Reflex's own db helpers: assetry.db owns the engines.
    db_url=None,
)
