"""Errors of the gait engine; all derive from :class:`GaitError`.

Exceptions carry their data (``path``, ``row``, ``column``) so callers such as
the CLI can build a message without parsing text.
"""

from __future__ import annotations

from gaitstream.exceptions import GaitstreamError


class GaitError(GaitstreamError):
    """Base class of every error raised on purpose by ``gaitstream.gait``."""


class RecordingError(GaitError):
    """A recording file or array cannot be used as it is.

    ``row`` is the 1-based line number in the file (the header is line 1),
    ``column`` the column name, when the problem has one.
    """

    def __init__(
        self, message: str, *, path: str | None = None, row: int | None = None, column: str | None = None
    ) -> None:
        self.path = path
        self.row = row
        self.column = column
        where = [
            f"file {path}" if path else None,
            f"row {row}" if row is not None else None,
            f"column {column!r}" if column else None,
        ]
        prefix = ", ".join(w for w in where if w)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class TooShortError(RecordingError):
    """The recording is shorter than the analysis needs."""


class NoWalkingError(GaitError):
    """No walking (no sequence of initial contacts) was found in the data."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"file {path}: {message}" if path else message)
