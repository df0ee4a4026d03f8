"""The alert service's store: SQLAlchemy models (``models``), engine/session (``db``),
Alembic migrations (``migrations/``)."""
