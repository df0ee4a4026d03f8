"""Write generated files only when their text changed (so a rebuild leaves git clean)."""

from __future__ import annotations

import logging
from pathlib import Path

from gaitstream.logging import kv

log = logging.getLogger(__name__)


def write_changed(out_dir: Path, files: dict[str, str], *, event: str) -> list[Path]:
    """Write ``files`` (name -> text) into ``out_dir``; log ``event`` for each file that changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in files.items():
        path = out_dir / file_name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            log.info(kv(event, path=path, bytes=len(text)))
        written.append(path)
    return written
