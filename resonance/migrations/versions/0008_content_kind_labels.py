"""contents.kind and snapshot_elements.label

Revision ID: 0008_content_kind_labels
Revises: 0007_attention_bands

``contents.kind`` tells reading content from conversion pages (contact, demo
request, thank-you): conversion pages are left out of suggested reads and of
influence credit by default. ``kind_source`` says whether a rule chose the kind
(``auto``, re-decided by the crawl) or a person did (``hand``, kept).

``snapshot_elements.label`` is the element's human name as the snapshot saw it
(its text, ``aria-label``, ``alt`` or ``data-*`` label), shown in place of the
selector.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_content_kind_labels"
down_revision: str | None = "0007_attention_bands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contents") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="content")
        )
        batch.add_column(
            sa.Column(
                "kind_source", sa.String(8), nullable=False, server_default="auto"
            )
        )
    with op.batch_alter_table("snapshot_elements") as batch:
        batch.add_column(
            sa.Column("label", sa.String(120), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("snapshot_elements") as batch:
        batch.drop_column("label")
    with op.batch_alter_table("contents") as batch:
        batch.drop_column("kind_source")
        batch.drop_column("kind")
