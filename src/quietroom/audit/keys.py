"""The server's audit signing key (Ed25519), kept in the data folder apart from the database."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from quietroom.core.keyfiles import AUDIT_SIGNING_KEY, key_bytes


def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(key_bytes(AUDIT_SIGNING_KEY))


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_hex(key: Ed25519PublicKey | None = None) -> str:
    return (key or public_key()).public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
