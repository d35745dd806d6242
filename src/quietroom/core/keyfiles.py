"""Server-held random keys kept as files in the data folder, never in the database, so a copy
of the database alone cannot use them (ENC-02). Each is 32 random bytes in an owner-only file
made once (quietroom.config.secret_file)."""

from __future__ import annotations

import secrets
from functools import cache

from django.conf import settings

from quietroom.config import secret_file

PRELOGIN_SECRET = "prelogin_secret"  # noqa: S105 - a file name, not a secret
MFA_KEY = "mfa_key"
AUDIT_SIGNING_KEY = "audit_signing_key"  # an Ed25519 private key is any 32 random bytes
KEY_BYTES = 32


@cache
def key_bytes(name: str) -> bytes:
    """The 32 raw bytes in `DATA_DIR/name`, creating the file on first use. A truncated key
    stops the server rather than being replaced: a new prelogin secret would change every
    unknown email's salt (§3.1), a new MFA key would orphan every enrolled authenticator."""
    return secret_file(
        settings.CONFIG.data_dir / name,
        make=lambda: secrets.token_bytes(KEY_BYTES),
        usable=lambda raw: len(raw) == KEY_BYTES,
    )
