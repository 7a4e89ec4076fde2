"""Sign-up by email confirmation, and throttling of the public forms per IP.

`users.email_confirmed_at` stays NULL while a new account waits for its emailed link (its
token's SHA-256 sits in `email_token_hash`, as for an email change); accounts that existed
before count as confirmed when they were created. `form_submissions` keeps the IP of each
sign-up, waitlist and link-resend form sent, for a day, to throttle them per IP.

Revision ID: 0011
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls

revision: str = "0011"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_confirmed_at = created_at")
    op.create_table(
        "form_submissions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_submissions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_submissions_ip"), ["ip"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(rls.service_table("form_submissions"))


def downgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submissions_ip"))
        batch_op.drop_index(batch_op.f("ix_form_submissions_created_at"))
    op.drop_table("form_submissions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
