"""Alembic runs as the schema owner (DATABASE_URL or the embedded server), never as the app's runtime role."""

from __future__ import annotations

import sqlalchemy as sa

from alembic import context
from assetry.config import driver_url, get_settings
from assetry.models import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("url") or driver_url(get_settings().owner_database_url)
    connectable = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
