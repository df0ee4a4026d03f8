"""Programme revisions: a patient's therapy programme, one row per change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programme_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.String(length=100), nullable=False),
        sa.Column("patient_id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("sides", sa.JSON(), nullable=False),
        sa.Column("target_pelvic_drop_deg", sa.Float(), nullable=False),
        sa.Column("feedback_plan", sa.Text(), nullable=True),
        sa.Column("exercises", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clinic_id", "patient_id", "revision", name="uq_programme_revision"),
    )


def downgrade() -> None:
    op.drop_table("programme_revisions")
