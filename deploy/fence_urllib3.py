"""Keep urllib3 the locked urllib3 when urllib3-future is installed beside it.

grafana-client (4.0 on) talks HTTP through niquests, which needs urllib3-future.
That package installs a ``urllib3_future.pth`` file whose code runs at every
interpreter start and copies urllib3-future over the ``urllib3`` package, so
``import urllib3`` in influxdb-client (the sink) and requests (apprise) loads a
library nobody chose, whatever the lock says. niquests itself imports
``urllib3_future`` by that name when a plain urllib3 is present, so it needs no
override.

Run with the environment's own Python after installing the lock:

    python deploy/fence_urllib3.py requirements.lock

1. Remove ``urllib3_future.pth`` from site-packages (before anything else
   starts a Python that would run it again).
2. Remove the ``urllib3`` package directory it wrote into, and install urllib3
   again from the lock's own line (hashes checked, no dependencies).

Idempotent; a no-op when urllib3-future is not installed. ``tests/test_locks.py``
fails when ``import urllib3`` is not the locked release.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

PTH_NAME = "urllib3_future.pth"
# The lock's urllib3 requirement: its line and the hash lines that continue it.
URLLIB3_BLOCK = re.compile(r"^urllib3==[^\s\\]+(?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+", re.MULTILINE)


def main(lock_path: str) -> int:
    site = Path(sysconfig.get_paths()["purelib"])
    pth = site / PTH_NAME
    if not pth.exists() and not (site / "urllib3" / ".u3f_sync").exists():
        print("fence_urllib3: urllib3-future does not override urllib3 here; nothing to do", file=sys.stderr)
        return 0
    # 1.
    pth.unlink(missing_ok=True)
    # 2.
    match = URLLIB3_BLOCK.search(Path(lock_path).read_text())
    if match is None:
        print(f"fence_urllib3: {lock_path} has no hashed urllib3== line", file=sys.stderr)
        return 2
    shutil.rmtree(site / "urllib3", ignore_errors=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirement:
        requirement.write(match.group(0) + "\n")
        requirement.flush()
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"]
        subprocess.run([*command, "--require-hashes", "-r", requirement.name], check=True)
    print(f"fence_urllib3: removed {PTH_NAME}; urllib3 reinstalled from {lock_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python deploy/fence_urllib3.py LOCK_FILE", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))
