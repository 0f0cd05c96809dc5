"""Accounts: named local accounts with a role and a scope, passwords hashed with Argon2 under a
policy, kept in the installation's SQL database (the archive's: SQLite by default, PostgreSQL when
configured). Schema changes go through the Alembic migrations in ``migrations/``.

Used by `pingan users` now, and by the web's login and guard (issue 14, in progress).
"""
