"""The generated SECRET_KEY used when none is configured."""

import os
import secrets
import time
from pathlib import Path


def load_or_create_secret_key(path: Path) -> str:
    """Return the key stored at ``path``, creating it (mode 0600) on first use.

    Creation is exclusive, so two workers starting together end up with the same key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


def _read_when_written(path: Path) -> str:
    # Another process may have created the file but not yet written to it.
    for _ in range(100):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} exists but is empty; delete it or set SECRET_KEY")
