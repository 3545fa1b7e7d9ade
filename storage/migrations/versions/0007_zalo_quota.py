"""zalo quota: a deferred reminder waits in the ledger until not_before; quota warnings are
ledger rows (the month's warned_percent goes; after this upgrade a warning already given this
month may be given once more)

Revision ID: 0007_zalo_quota
Revises: 0006_inbox
Create Date: 2026-12-02 05:37:51.700916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0007_zalo_quota'
down_revision: str | None = '0006_inbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reminder_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', storage.types.UTCDateTime(), nullable=True))

    with op.batch_alter_table('zalo_usage', schema=None) as batch_op:
        batch_op.drop_column('warned_percent')


def downgrade() -> None:
    with op.batch_alter_table('zalo_usage', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('warned_percent', sa.Integer(), nullable=False, server_default='0')
        )

    with op.batch_alter_table('reminder_delivery', schema=None) as batch_op:
        batch_op.drop_column('not_before')
