"""Analytics: connected accounts (encrypted tokens), posts, metric snapshots, tracked URLs, notes, OAuth states.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"))
    op.create_table('connected_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('platform_account_id', sa.String(length=128), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('avatar_url', sa.String(length=2000), nullable=False),
    sa.Column('account_type', sa.String(length=32), nullable=False),
    sa.Column('sandbox', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_message', sa.String(length=500), nullable=False),
    sa.Column('access_token_enc', sa.String(length=4000), nullable=True),
    sa.Column('refresh_token_enc', sa.String(length=4000), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('followers', sa.Integer(), nullable=True),
    sa.Column('posts_count', sa.Integer(), nullable=True),
    sa.Column('first_sync_done', sa.Boolean(), nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'platform', 'platform_account_id')
    )
    with op.batch_alter_table('connected_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connected_accounts_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_connected_accounts_next_sync_at'), ['next_sync_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_connected_accounts_user_id'), ['user_id'], unique=False)

    op.create_table('oauth_states',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('code_verifier', sa.String(length=200), nullable=True),
    sa.Column('reconnect_account_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('state_hash')
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_states_user_id'), ['user_id'], unique=False)

    op.create_table('account_snapshots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('posts', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['connected_accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_account_snapshots_account_captured', ['account_id', 'captured_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_snapshots_user_id'), ['user_id'], unique=False)

    op.create_table('posts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('platform_post_id', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=4000), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('cover_url', sa.String(length=2000), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_metrics_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['connected_accounts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'source', 'platform', 'platform_post_id')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_posts_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_posts_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_posts_user_posted', ['user_id', 'posted_at'], unique=False)

    op.create_table('metric_snapshots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('post_id', sa.Uuid(), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=True),
    sa.Column('likes', sa.BigInteger(), nullable=True),
    sa.Column('comments', sa.BigInteger(), nullable=True),
    sa.Column('shares', sa.BigInteger(), nullable=True),
    sa.Column('saves', sa.BigInteger(), nullable=True),
    sa.Column('reach', sa.BigInteger(), nullable=True),
    sa.Column('interactions', sa.BigInteger(), nullable=True),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_metric_snapshots_post_captured', ['post_id', 'captured_at'], unique=False)
        batch_op.create_index('ix_metric_snapshots_user_captured', ['user_id', 'captured_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_metric_snapshots_user_id'), ['user_id'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('post_id', sa.Uuid(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notes_user_id'), ['user_id'], unique=False)

    op.create_table('tracked_urls',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('post_id', sa.Uuid(), nullable=True),
    sa.Column('last_fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_fetch_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'url')
    )
    with op.batch_alter_table('tracked_urls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracked_urls_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracked_urls_next_fetch_at'), ['next_fetch_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracked_urls_user_id'), ['user_id'], unique=False)
    for table in (
        "connected_accounts", "posts", "metric_snapshots", "account_snapshots",
        "tracked_urls", "notes", "oauth_states",
    ):  # fmt: skip
        op.execute(rls.user_owned_table(table))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
    with op.batch_alter_table('tracked_urls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracked_urls_user_id'))
        batch_op.drop_index(batch_op.f('ix_tracked_urls_next_fetch_at'))
        batch_op.drop_index(batch_op.f('ix_tracked_urls_created_at'))

    op.drop_table('tracked_urls')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notes_user_id'))
        batch_op.drop_index(batch_op.f('ix_notes_created_at'))

    op.drop_table('notes')
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_snapshots_user_id'))
        batch_op.drop_index('ix_metric_snapshots_user_captured')
        batch_op.drop_index('ix_metric_snapshots_post_captured')

    op.drop_table('metric_snapshots')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_user_posted')
        batch_op.drop_index(batch_op.f('ix_posts_user_id'))
        batch_op.drop_index(batch_op.f('ix_posts_created_at'))
        batch_op.drop_index(batch_op.f('ix_posts_account_id'))

    op.drop_table('posts')
    with op.batch_alter_table('account_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_snapshots_user_id'))
        batch_op.drop_index('ix_account_snapshots_account_captured')

    op.drop_table('account_snapshots')
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_user_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_states_created_at'))

    op.drop_table('oauth_states')
    with op.batch_alter_table('connected_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connected_accounts_user_id'))
        batch_op.drop_index(batch_op.f('ix_connected_accounts_next_sync_at'))
        batch_op.drop_index(batch_op.f('ix_connected_accounts_created_at'))

    op.drop_table('connected_accounts')
