"""broadcasts: announcements, their drafts and the delivery ledger

Revision ID: 0005_broadcasts
Revises: 0004_zalo
Create Date: 2026-11-29 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0005_broadcasts'
down_revision: str | None = '0004_zalo'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broadcast',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sender_account_id', sa.Integer(), nullable=False),
    sa.Column('sender_chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'SENDING', 'DONE', 'CANCELLED', name='broadcaststatus'), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attachment_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('attachment_ref', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('attachment_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('ack_requested', sa.Boolean(), nullable=False),
    sa.Column('audience_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('audience_value', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('state_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('progress_message_id', sa.Integer(), nullable=True),
    sa.Column('progress_shown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('queued_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['broadcast.id'], ),
    sa.ForeignKeyConstraint(['sender_account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('parent_id', 'round_no')
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_sender_account_id'), ['sender_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_status'), ['status'], unique=False)
        # One draft per sender (a partial unique index: SQLite and PostgreSQL both have them).
        batch_op.create_index(
            'uq_broadcast_draft_sender',
            ['sender_account_id'],
            unique=True,
            sqlite_where=sa.text("status = 'DRAFT'"),
            postgresql_where=sa.text("status = 'DRAFT'"),
        )

    op.create_table('broadcast_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'SENT', 'FAILED', name='deliverystatus'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('failed_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('failure_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('acknowledged_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('broadcast_id', 'account_id')
    )
    with op.batch_alter_table('broadcast_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_delivery_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_broadcast_delivery_broadcast_status', ['broadcast_id', 'status'], unique=False)
        batch_op.create_index('ix_broadcast_delivery_chat_message', ['chat_id', 'message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('broadcast_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_delivery_chat_message')
        batch_op.drop_index('ix_broadcast_delivery_broadcast_status')
        batch_op.drop_index(batch_op.f('ix_broadcast_delivery_account_id'))

    op.drop_table('broadcast_delivery')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index('uq_broadcast_draft_sender')
        batch_op.drop_index(batch_op.f('ix_broadcast_status'))
        batch_op.drop_index(batch_op.f('ix_broadcast_sender_account_id'))
        batch_op.drop_index(batch_op.f('ix_broadcast_parent_id'))

    op.drop_table('broadcast')
