"""File names from ids (pure): only letters, digits, '.', '_' and '-' (others become '_'), never
hidden or empty, so an id from the data cannot leave its directory."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text: str, fallback: str = "session") -> str:
    return _UNSAFE.sub("_", text).lstrip(".") or fallback
