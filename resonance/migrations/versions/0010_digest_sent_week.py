"""users.digest_sent_week: the week each user's last digest covered

Revision ID: 0010_digest_sent_week
Revises: 0009_accounts_alerts

``resonance digest send`` skips a user already sent for the same week (unless
``--force``); kept in the database rather than a file in the data folder, so
every host running the timer agrees.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_digest_sent_week"
down_revision: str | None = "0009_accounts_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_sent_week", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_week")
