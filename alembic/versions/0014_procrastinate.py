"""Jobs on procrastinate: its schema (read from the installed package), domain rows that own
status and progress (exports, sync runs, invitation rounds, a generation's phase), and the
hand-written `jobs` table gone.

Revision ID: 0014
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

from assetry import rls

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENGINE_TABLES = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
                 "procrastinate_workers")  # fmt: skip


def _dates() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    # Straight to psycopg with no parameters: the schema's `%` are PL/pgSQL's, not placeholders.
    op.get_bind().connection.driver_connection.execute(SchemaManager.get_schema())
    # The worker's sessions act as service_role (see jobs.engine.conninfo).
    for table in ENGINE_TABLES:
        op.execute(rls.service_table(table))
    # A user's transaction queues its own jobs (a generation and its job commit together).
    op.execute("GRANT INSERT, SELECT, UPDATE ON procrastinate_jobs, procrastinate_events TO authenticated;")
    op.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO service_role, authenticated;")

    # Work queued in the old table does not move over: its generations say so and can be re-run.
    # (Deletions still happen: the hourly `retention.accounts` purges every account that is due.)
    op.execute(
        "UPDATE generations SET status = 'failed', finished_at = now(), "
        "error = 'Stopped by an update of Assetry before it ran. Please start it again.' "
        "WHERE status IN ('queued', 'running')"
    )
    op.drop_constraint("generations_job_id_fkey", "generations", type_="foreignkey")
    op.drop_column("generations", "job_id")
    op.add_column("generations", sa.Column("job_id", sa.BigInteger(), nullable=True))
    op.add_column("generations", sa.Column("phase", sa.String(16), nullable=False, server_default=""))
    op.add_column("generations", sa.Column("queue_position", sa.Integer(), nullable=True))
    op.add_column("generations", sa.Column("client_request_id", sa.String(128), nullable=True))
    op.create_unique_constraint("uq_generations_client_request", "generations", ["user_id", "client_request_id"])
    op.drop_table("jobs")


    def owner() -> sa.ForeignKey:
        return sa.ForeignKey("users.id", ondelete="CASCADE")

    op.create_table(
        "data_exports",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), owner(), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(64), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(2000), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archive_deleted", sa.Boolean(), nullable=False),
        *_dates(),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), owner(), nullable=False, index=True),
        sa.Column("account_id", sa.Uuid(), sa.ForeignKey("connected_accounts.id", ondelete="CASCADE"),
                  nullable=False),  # fmt: skip
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.String(512), nullable=True),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(2000), nullable=False),
        *_dates(),
    )
    op.create_index("ix_sync_runs_account_status", "sync_runs", ["account_id", "status"])
    op.create_table(
        "invitation_rounds",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("query", sa.String(320), nullable=False),
        sa.Column("joined_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(2000), nullable=False),
        *_dates(),
    )
    op.execute(rls.user_owned_table("data_exports"))
    op.execute(rls.user_owned_table("sync_runs"))
    op.execute(rls.service_table("invitation_rounds"))


def downgrade() -> None:
    """Back to the hand-written `jobs` table (empty: queued work of the engine is not carried back)."""
    for table in ("invitation_rounds", "sync_runs", "data_exports"):
        op.drop_table(table)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(2000), nullable=False),
        sa.Column("dedupe_key", sa.String(128), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_jobs_due", "jobs", ["status", "run_after"])
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at"])
    op.create_index("ix_jobs_kind_created", "jobs", ["kind", "created_at"])
    op.execute(rls.user_owned_table("jobs"))
    op.drop_constraint("uq_generations_client_request", "generations", type_="unique")
    for column in ("client_request_id", "queue_position", "phase", "job_id"):
        op.drop_column("generations", column)
    op.add_column("generations", sa.Column("job_id", sa.Uuid(), sa.ForeignKey("jobs.id", ondelete="SET NULL"),
                                           nullable=True))  # fmt: skip
    op.execute("""
        DO $$
        DECLARE f record;
        BEGIN
          FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc WHERE proname LIKE 'procrastinate%' LOOP
            EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE';  -- its triggers too
          END LOOP;
        END $$;
    """)
    op.execute(
        "DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers;"
    )
    op.execute("DROP TYPE procrastinate_job_to_defer_v1, procrastinate_job_event_type, procrastinate_job_status;")
