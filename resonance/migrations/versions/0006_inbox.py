"""inbox: beacons accepted under load, drained into the event tables

Revision ID: 0006_inbox
Revises: 0003_perf

Under load the collector commits each group of beacons as raw rows here (one
statement) and answers 204; the writer stores them into the event tables when
it has time (tracker/inbox.py). No foreign key: a site deleted meanwhile makes
the drain refuse the beacon, it does not block the delete.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_inbox"
down_revision: str | None = "0003_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("uid", sa.String(length=80), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("origin", sa.String(length=2000), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
    )


def downgrade() -> None:
    op.drop_table("inbox")
