"""Password-derived keys, prelogin salt and the staff Secret Key (crypto-protocol.md §3).

``password ─Argon2id─► MK ─HKDF(salt = SK or ZS)─► authKey, KEK``. The authKey is what allauth sees
as the password; the KEK opens ``pw_wrap`` (account.py).
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from quietroom.crypto.encoding import ZS, T, b64url_encode, label, pae
from quietroom.crypto.errors import EncodingError, KdfParamsError
from quietroom.crypto.keys import Rng, hkdf, random_bytes

SALT_LEN: Final = 16
SECRET_KEY_LEN: Final = 16
# Client-side bounds are built in, not served: a malicious server must not be able to hand out
# cheap parameters at prelogin and harvest crackable authKeys (§3.2).
M_MIN: Final = 32768
M_MAX: Final = 1048576
T_MIN: Final = 3
T_MAX: Final = 10
_SK_GROUPS: Final = (6, 5, 5, 5, 5)
_B32_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id v1.3 parameters: ``m`` in KiB, ``t`` passes, ``p`` lanes."""

    m: int
    t: int
    p: int

    def check(self) -> KdfParams:
        for value in (self.m, self.t, self.p):
            if not isinstance(value, int) or isinstance(value, bool):
                raise KdfParamsError("Argon2id parameters must be integers")
        if not (M_MIN <= self.m <= M_MAX and T_MIN <= self.t <= T_MAX and self.p == 1):
            raise KdfParamsError(
                f"Argon2id parameters outside the built-in bounds: m={self.m} t={self.t} p={self.p}"
            )
        return self


DEFAULT_KDF: Final = KdfParams(m=65536, t=3, p=1)


@dataclass(frozen=True, slots=True)
class PasswordKeys:
    auth_key: str  # 43 base64url characters, sent where allauth expects a password
    kek: bytes  # AES-256-GCM key for pw_wrap


def normalize_password(password: str) -> bytes:
    # NFKC so that the same password typed on another keyboard or IME gives the same bytes;
    # deliberately no trimming.
    try:
        return unicodedata.normalize("NFKC", password).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("password is not valid Unicode") from exc


def derive_master_key(password: str, salt: bytes, params: KdfParams) -> bytes:
    params.check()
    if len(salt) != SALT_LEN:
        raise EncodingError("salt must be 16 bytes")
    kdf = Argon2id(salt=salt, length=32, iterations=params.t, lanes=params.p, memory_cost=params.m)
    return kdf.derive(normalize_password(password))


def derive_from_master_key(master_key: bytes, secret_key: bytes | None) -> PasswordKeys:
    """Second half of §3.4, split out so tests and vectors can reuse one Argon2id run."""
    if secret_key is not None and len(secret_key) != SECRET_KEY_LEN:
        raise EncodingError("Secret Key must be 16 bytes")
    s2 = secret_key if secret_key is not None else ZS
    auth = hkdf(master_key, s2, pae(label("auth")), 32)
    kek = hkdf(master_key, s2, pae(label("kek")), 32)
    return PasswordKeys(auth_key=b64url_encode(auth), kek=kek)


def derive_password_keys(
    password: str, salt: bytes, params: KdfParams, secret_key: bytes | None = None
) -> PasswordKeys:
    """§3.4: ``secret_key`` is the staff SK, ``None`` for client accounts."""
    return derive_from_master_key(derive_master_key(password, salt, params), secret_key)


def prelogin_salt(prelogin_secret: bytes, normalized_email: str) -> bytes:
    """Server side of §3.1: the same formula for known and unknown emails, so salts leak nothing."""
    if len(prelogin_secret) != 32:
        raise EncodingError("prelogin secret must be 32 bytes")
    mac = hmac.HMAC(prelogin_secret, hashes.SHA256())
    mac.update(pae(label("salt"), T(normalized_email)))
    return mac.finalize()[:SALT_LEN]


# -- Secret Key display format (§3.3) ------------------------------------------------------------


def generate_secret_key(rng: Rng = random_bytes) -> bytes:
    return rng(SECRET_KEY_LEN)


def format_secret_key(secret_key: bytes) -> str:
    """``QR1-`` and 26 base32 characters in groups 6-5-5-5-5 (the 2 unused low bits are zero)."""
    if len(secret_key) != SECRET_KEY_LEN:
        raise EncodingError("Secret Key must be 16 bytes")
    chars = base64.b32encode(secret_key).decode("ascii").rstrip("=")
    groups, start = [], 0
    for size in _SK_GROUPS:
        groups.append(chars[start : start + size])
        start += size
    return "QR1-" + "-".join(groups)


def parse_secret_key(text: str) -> bytes:
    """Ignores case, spaces and hyphens; ``QR1`` is optional; anything else is refused."""
    compact = "".join(ch for ch in text if ch not in " -").upper()
    # '1' is outside the base32 alphabet, so the prefix can never be confused with key characters.
    if len(compact) == 29 and compact.startswith("QR1"):
        compact = compact[3:]
    if len(compact) != 26 or not set(compact) <= _B32_ALPHABET:
        raise EncodingError("not a Secret Key")
    try:
        secret_key = base64.b32decode(compact + "======")
    except binascii.Error as exc:
        raise EncodingError("not a Secret Key") from exc
    if base64.b32encode(secret_key).decode("ascii").rstrip("=") != compact:
        raise EncodingError("Secret Key has non-zero unused bits")
    return secret_key
