"""Reflex configuration: Radix themes, no auto setters, no telemetry, no badge, own-origin CORS."""

import reflex as rx

from assetry.config import get_settings

settings = get_settings()

config = rx.Config(
    app_name="assetry",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="violet", radius="large", has_background=True)
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Auto setters are off by default since Reflex 0.9 (the option itself is deprecated).
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=[settings.origin],
    redis_url=settings.redis_url,
    # The app never uses Reflex's own db helpers: assetry.db owns the engines.
    db_url=None,
)
