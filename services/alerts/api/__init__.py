"""The subscription service's HTTP API (FastAPI)."""
