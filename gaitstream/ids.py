"""Identifiers of clinics and patients (pseudonyms) as the clinic API accepts them, and what every
command that takes one back (export, erasure) must accept too: letters and digits first, then
letters, digits, ``_ . : -``, at most 100 characters. No ``/`` (it separates clinic and patient in
keys), no quotes or spaces (they would end a query's string)."""

from __future__ import annotations

import re

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
_ID = re.compile(ID_PATTERN)


def check_id(kind: str, value: str) -> str:
    """``value`` when it is a valid id, else ``ValueError`` naming ``kind`` and the rule."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(
            f"{kind} {value!r} must be 1-100 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
        )
    return value
