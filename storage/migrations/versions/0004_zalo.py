"""zalo: numbered choices per chat, webhook message ids seen, messages sent per month

Revision ID: 0004_zalo
Revises: 0003_reminders
Create Date: 2026-11-29 05:18:50.314277
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0004_zalo'
down_revision: str | None = '0003_reminders'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('zalo_chat_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('menu_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id')
    )
    op.create_table('zalo_seen_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('zalo_seen_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zalo_seen_message_received_at'), ['received_at'], unique=False)

    op.create_table('zalo_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('warned_percent', sa.Integer(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month')
    )


def downgrade() -> None:
    op.drop_table('zalo_usage')
    with op.batch_alter_table('zalo_seen_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zalo_seen_message_received_at'))

    op.drop_table('zalo_seen_message')
    op.drop_table('zalo_chat_state')
