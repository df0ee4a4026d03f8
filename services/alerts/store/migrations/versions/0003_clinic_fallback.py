"""A clinic's fallback channel: where an open alert escalates when a supervisor's channel keeps
failing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("fallback_channel", sa.String(length=20)),
    ("fallback_target", sa.Text()),
    ("fallback_webhook_secret", sa.String(length=128)),
)


def upgrade() -> None:
    with op.batch_alter_table("clinic_settings") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("escalate_after_failures", sa.Integer(), nullable=False, server_default="3"))


def downgrade() -> None:
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("escalate_after_failures")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
