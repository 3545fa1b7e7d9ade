"""inbox: updates stored before Telegram is told they arrived; a form's last message applied

Revision ID: 0006_inbox
Revises: 0005_broadcasts
Create Date: 2026-11-29 09:42:18.289116
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0006_inbox'
down_revision: str | None = '0005_broadcasts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('inbound_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payload_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'ref')
    )
    with op.batch_alter_table('inbound_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_update_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_update_status'), ['status'], unique=False)
    with op.batch_alter_table('form_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_message_seq', sa.Integer(), nullable=True))
    # The inbox also keeps the Zalo message ids seen (a repeated delivery is applied once).
    with op.batch_alter_table('zalo_seen_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zalo_seen_message_received_at'))
    op.drop_table('zalo_seen_message')




def downgrade() -> None:
    op.create_table('zalo_seen_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('zalo_seen_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zalo_seen_message_received_at'), ['received_at'], unique=False)
    with op.batch_alter_table('form_session', schema=None) as batch_op:
        batch_op.drop_column('last_message_seq')
    
    with op.batch_alter_table('inbound_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_update_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_update_received_at'))

    op.drop_table('inbound_update')

