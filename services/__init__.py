"""Long-running processes a clinic runs: treadmill stations (``station``) and alerts (``alerts``)."""
