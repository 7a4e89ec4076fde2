"""Alembic runs as the schema owner (DATABASE_URL), never as the app's runtime role."""

from __future__ import annotations

import sqlalchemy as sa

from alembic import context
from assetry.config import driver_url, get_settings
from assetry.models import metadata

config = context.config


def run_migrations_online() -> None:
    settings = get_settings()
    url = config.attributes.get("url") or driver_url(settings.owner_database_url, asynchronous=False)
    if url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    connectable = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
