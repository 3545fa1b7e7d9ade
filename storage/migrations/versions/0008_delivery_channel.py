"""broadcast deliveries name the recipient's channel (an announcement reaches every channel)

Revision ID: 0008_delivery_channel
Revises: 0007_zalo_quota
Create Date: 2026-12-02 05:35:22.096563
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008_delivery_channel'
down_revision: str | None = '0007_zalo_quota'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('broadcast_delivery', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'channel',
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default='telegram',
            )
        )
    # Rows written before: the recipient's account knows its channel.
    op.execute(
        "UPDATE broadcast_delivery SET channel = "
        "(SELECT account.channel FROM account WHERE account.id = broadcast_delivery.account_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('broadcast_delivery', schema=None) as batch_op:
        batch_op.drop_column('channel')
