"""Two factors: an account's TOTP secret and the last time step it accepted, and its recovery codes
(SHA-256 of each; a used one is marked). And where an account comes from: ``local`` (a password
here) or a single sign-on (``oidc``, ``cas``: no password here).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("source", sa.String(8), nullable=False, server_default="local"))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("recovery_codes")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("source")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
