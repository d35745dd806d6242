"""Key formats and thin wrappers over pyca ``cryptography`` primitives (crypto-protocol.md §2).

No primitive is implemented here: each function pins one way of calling ``cryptography`` (full HKDF,
AES-256-GCM with a 96-bit nonce, single-shot base-mode HPKE with empty aad, pure Ed25519) and turns
library exceptions into the protocol's typed errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final, Literal, Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from quietroom.crypto.encoding import B, T, label, pae, sha256
from quietroom.crypto.errors import BodyError, CryptoError, EncodingError, SignatureError, WrapError

Rng = Callable[[int], bytes]
"""Source of random bytes. Production code uses ``os.urandom``; vectors pass a seeded one."""

KeyAlg = Literal["x25519", "ed25519"]

PKCS8_PREFIX_X25519: Final = bytes.fromhex("302e020100300506032b656e04220420")
PKCS8_PREFIX_ED25519: Final = bytes.fromhex("302e020100300506032b657004220420")
NONCE_LEN: Final = 12
TAG_LEN: Final = 16
WRAP_LEN: Final = 80  # enc(32) + 32-byte CEK + tag(16)

_HPKE_SUITE: Final = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def kid(alg: KeyAlg, pub: bytes) -> bytes:
    """``KID(alg, pub)``: the 16-byte id every public key is referred to by (§2.4)."""
    return sha256(pae(label("key-id"), T(alg), B(pub)))[:16]


# -- raw public keys and 48-byte PKCS#8 private keys (§2.5) --------------------------------------


def x25519_public(raw: bytes) -> X25519PublicKey:
    if len(raw) != 32:
        raise EncodingError("X25519 public key must be 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def ed25519_public(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise EncodingError("Ed25519 public key must be 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise EncodingError("invalid Ed25519 public key") from exc


def raw_public(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_seed(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def x25519_from_seed(seed: bytes) -> X25519PrivateKey:
    if len(seed) != 32:
        raise EncodingError("X25519 seed must be 32 bytes")
    return X25519PrivateKey.from_private_bytes(seed)


def ed25519_from_seed(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise EncodingError("Ed25519 seed must be 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def pkcs8_encode(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    prefix = PKCS8_PREFIX_X25519 if isinstance(key, X25519PrivateKey) else PKCS8_PREFIX_ED25519
    # Checked both ways (§2.5): a library that ever emits another layout must fail loudly here.
    if len(der) != 48 or der[:16] != prefix:
        raise EncodingError("unexpected PKCS#8 layout from the library")
    return der


def _pkcs8_seed(der: bytes, prefix: bytes) -> bytes:
    if len(der) != 48 or der[:16] != prefix:
        raise EncodingError("PKCS#8 key must be 48 bytes with the fixed RFC 8410 prefix")
    return der[16:]


def pkcs8_decode_x25519(der: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_pkcs8_seed(der, PKCS8_PREFIX_X25519))


def pkcs8_decode_ed25519(der: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_pkcs8_seed(der, PKCS8_PREFIX_ED25519))


# -- symmetric -----------------------------------------------------------------------------------


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """Full HKDF-SHA256 (Extract then Expand), the only form WebCrypto offers (§2.1)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def aead_seal(key: bytes, plaintext: bytes, aad: bytes, *, rng: Rng = random_bytes) -> bytes:
    """``AEAD(k, pt, aad)`` = nonce(12, random) ‖ AES-256-GCM ciphertext ‖ tag (§2.2)."""
    if len(key) != 32:
        raise EncodingError("AES-256-GCM key must be 32 bytes")
    nonce = rng(NONCE_LEN)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_open(key: bytes, blob: bytes, aad: bytes, error: type[CryptoError] = BodyError) -> bytes:
    """Opens ``AEAD(k, pt, aad)``; any failure raises ``error`` (the caller's protocol code)."""
    if len(key) != 32:
        raise EncodingError("AES-256-GCM key must be 32 bytes")
    if len(blob) < NONCE_LEN + TAG_LEN:
        raise error("AES-GCM ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_LEN], blob[NONCE_LEN:], aad)
    except InvalidTag as exc:
        raise error("AES-GCM authentication failed") from exc


# -- HPKE ----------------------------------------------------------------------------------------


class HpkeSealer(Protocol):
    """Shape of :func:`hpke_seal`; vectors pass a pyhpke sealer with a fixed ephemeral key."""

    def __call__(self, public_key: bytes, info: bytes, plaintext: bytes) -> bytes: ...


def hpke_seal(public_key: bytes, info: bytes, plaintext: bytes) -> bytes:
    """Single-shot base-mode seal with all context in ``info`` and empty aad; ``enc ‖ ct``."""
    try:
        return _HPKE_SUITE.encrypt(plaintext, x25519_public(public_key), info=info)
    except ValueError as exc:  # a low-order point gives an all-zero shared secret
        raise EncodingError("unusable X25519 public key") from exc


def hpke_open(private_key: X25519PrivateKey, info: bytes, blob: bytes) -> bytes:
    if len(blob) < 32 + TAG_LEN:
        raise WrapError("HPKE ciphertext too short")
    try:
        return _HPKE_SUITE.decrypt(blob, private_key, info=info)
    except (InvalidTag, ValueError) as exc:
        raise WrapError("HPKE open failed") from exc


# -- signatures ----------------------------------------------------------------------------------


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


def verify(
    public_key: bytes, signature: bytes, message: bytes, error: type[CryptoError] = SignatureError
) -> None:
    """Pure Ed25519 verification; raises ``error`` (default ``E_SIG``) on any failure."""
    if len(signature) != 64:
        raise error("signature must be 64 bytes")
    try:
        ed25519_public(public_key).verify(signature, message)
    except (InvalidSignature, EncodingError) as exc:
        raise error("signature does not verify") from exc
