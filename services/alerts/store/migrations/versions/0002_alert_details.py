"""Alert details from the alert v2 wire schema (metric, baseline, sensor, fault) and the
resolve's own message, for the dispatcher's messages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("metric", sa.String(length=64)),
    ("baseline", sa.Float()),
    ("sensor", sa.String(length=64)),
    ("fault", sa.String(length=32)),
    ("resolve_message", sa.Text()),
)


def upgrade() -> None:
    # batch: SQLite cannot ALTER much; on PostgreSQL this is plain ADD COLUMN.
    with op.batch_alter_table("alerts") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
