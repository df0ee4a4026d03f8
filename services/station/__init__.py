"""Treadmill station: publishes a session's IMU frames to Kafka (simulated or replayed)."""
