"""The local real stack (Kafka KRaft + InfluxDB 2.7, as compose deploys) for development, tests and CI; no Docker."""

from gaitstream.stack.exceptions import MissingToolError, StackError
from gaitstream.stack.manager import Stack, UpReport
from gaitstream.stack.settings import StackSettings

__all__ = ["MissingToolError", "Stack", "StackError", "StackSettings", "UpReport"]
