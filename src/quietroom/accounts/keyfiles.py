"""Server-held random keys kept as files in the data folder, never in the database, so a copy
of the database alone cannot use them (ENC-02). Each file is made once, owner-only (0600)."""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from django.conf import settings

from quietroom.config import ConfigError

PRELOGIN_SECRET = "prelogin_secret"  # noqa: S105 - a file name, not a secret
MFA_KEY = "mfa_key"
KEY_BYTES = 32


@cache
def key_bytes(name: str) -> bytes:
    """The 32 raw bytes in `DATA_DIR/name`, creating the file on first use."""
    path: Path = settings.CONFIG.data_dir / name
    # O_EXCL: two workers starting at once must not both write; the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    value = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())
    return value


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )
    value = path.read_bytes()
    if len(value) != KEY_BYTES:
        # A half-written or truncated key must stop the server, not be silently replaced:
        # a new prelogin secret would change every unknown email's salt (§3.1), and a new MFA
        # key would make every enrolled authenticator unreadable.
        raise ConfigError(f"{path} does not hold a {KEY_BYTES}-byte key; restore it from backup")
    return value
