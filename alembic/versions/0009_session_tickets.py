"""Session tickets: a log-in reaches the browser as a single-use ticket, swapped for an HttpOnly cookie.

While `ticket_expires_at` is set, `token_hash` holds the SHA-256 of a ticket (valid until
then, for one swap at /session/start), not of a session token; the swap writes the real
token's hash and clears the column. A session with a pending ticket signs nobody in.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_column("ticket_expires_at")
