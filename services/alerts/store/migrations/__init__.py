"""Alembic migrations of the alert store, shipped inside the package (no alembic.ini needed:
``services.alerts.store.migrate`` builds the configuration in code)."""
