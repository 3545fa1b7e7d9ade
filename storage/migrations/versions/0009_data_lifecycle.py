"""data lifecycle: invites can be revoked (who, when); a person can be forgotten (when)

Revision ID: 0009_data_lifecycle
Revises: 0008_delivery_channel
Create Date: 2026-12-02 06:03:38.760426
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0009_data_lifecycle'
down_revision: str | None = '0008_delivery_channel'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forgotten_at', storage.types.UTCDateTime(), nullable=True))

    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'revoked_by',
                sqlmodel.sql.sqltypes.AutoString(length=100),
                nullable=False,
                server_default='',
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('forgotten_at')
