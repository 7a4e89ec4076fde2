"""Running migrations again from an earlier revision, as a database made before them would."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from assetry import db
from assetry.config import ROOT


async def migrate_again_from(revision: str) -> None:
    """Down to `revision`, then up to head again (rows written since stay, as they would)."""
    await db.dispose_engines()
    alembic = Config(str(ROOT / "alembic.ini"))
    try:
        command.downgrade(alembic, revision)
    finally:
        command.upgrade(alembic, "head")
