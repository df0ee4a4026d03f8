"""Alembic migrations of the alert store, shipped inside the package (no alembic.ini needed:
``gaitstream.services.alerts.store.migrate`` builds the configuration in code)."""
