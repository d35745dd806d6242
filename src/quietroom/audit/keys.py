"""The server's audit signing key (Ed25519), kept in the data folder apart from the database."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.conf import settings

KEY_FILE = "audit_signing_key"


def _path() -> Path:
    path: Path = settings.CONFIG.data_dir / KEY_FILE
    return path


@cache
def signing_key() -> Ed25519PrivateKey:
    path = _path()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Ed25519PrivateKey.from_private_bytes(path.read_bytes())
    key = Ed25519PrivateKey.generate()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
        handle.flush()
        os.fsync(handle.fileno())
    return key


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_hex(key: Ed25519PublicKey | None = None) -> str:
    return (key or public_key()).public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
