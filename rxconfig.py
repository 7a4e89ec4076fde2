"""Reflex configuration: Radix themes, no auto setters, no telemetry, no badge, own-origin CORS."""

import reflex as rx

from assetry.config import get_settings
from assetry.web_bundle import FewerChunks

settings = get_settings()
UI_STATE_SECONDS = 3600

config = rx.Config(
    app_name="assetry",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="violet", radius="large", has_background=True)
        ),
        FewerChunks(),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Auto setters are off by default since Reflex 0.9 (the option itself is deprecated).
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=[settings.origin],
    redis_url=settings.redis_url,
    # UI state holds user data (emails, notes, prompts): never on disk. In the process's memory
    # when there is one backend worker, in Redis (several workers) with every tab's keys
    # expiring an hour after its last event; a log-out, a changed session or a deleted
    # account empties it sooner (assetry/state/session.py).
    state_manager_mode="redis" if settings.redis_url else "memory",
    redis_token_expiration=UI_STATE_SECONDS,
    # The app never uses Reflex's own db helpers: assetry.db owns the engines.
    db_url=None,
)
