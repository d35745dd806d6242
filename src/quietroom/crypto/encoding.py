"""PAE, typed pieces, strict base64url, UUID and integer checks (crypto-protocol.md §2).

Everything that is signed, hashed, used as AEAD ``aad`` or as HKDF/HPKE ``info`` is built here, so
that the exact byte layout lives in one place. The piece constructors keep the spec's one-letter
names (``T``, ``U``, ``I``, ``B``, ``L``) so a reviewer can compare code and spec line by line.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import uuid
from typing import Final

from cryptography.hazmat.primitives import hashes

from quietroom.crypto.errors import EncodingError

MAX_INT: Final = 2**53 - 1
SUITE: Final = "qr1"
ZS: Final = bytes(32)  # "32 zero bytes (= empty salt)", §2.1
NIL_UUID: Final = uuid.UUID(int=0)

_UUID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*")


def le64(n: int) -> bytes:
    if not 0 <= n < 2**63:
        raise EncodingError(f"LE64 out of range: {n}")
    return struct.pack("<Q", n)


def pae(*pieces: bytes) -> bytes:
    """PASETO pre-authentication encoding: count, then each piece with its length."""
    out = [le64(len(pieces))]
    for piece in pieces:
        out.append(le64(len(piece)))
        out.append(piece)
    return b"".join(out)


def label(purpose: str) -> bytes:
    """The mandatory first piece of every PAE: ``T("qr/v1/<purpose>")``."""
    return T(f"qr/v1/{purpose}")


def T(s: str) -> bytes:  # noqa: N802
    """UTF-8 text piece. Lone surrogates cannot be encoded and are an encoding error."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("text is not valid Unicode") from exc


def U(n: int) -> bytes:  # noqa: N802
    """Integer piece; every protocol integer lies in [0, 2^53-1] so JavaScript holds it exactly."""
    return le64(check_uint(n))


def I(u: uuid.UUID) -> bytes:  # noqa: E743, N802
    """The 16 raw bytes of a UUID in RFC 9562 byte order."""
    return u.bytes


def B(x: bytes = b"") -> bytes:  # noqa: N802
    return bytes(x)


def L(*pieces: bytes) -> bytes:  # noqa: N802
    """A nested PAE carried as one piece (lists, sorted by their caller as the spec states)."""
    return pae(*pieces)


def check_uint(n: object) -> int:
    # bool is an int subclass in Python; JSON true must never pass as 1.
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_INT:
        raise EncodingError(f"integer out of range [0, 2^53-1]: {n!r}")
    return n


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, length: int | None = None) -> bytes:
    """Strict RFC 4648 §5 without padding: no padding, no whitespace, no non-zero trailing bits."""
    if not isinstance(text, str) or _B64URL_RE.fullmatch(text) is None or len(text) % 4 == 1:
        raise EncodingError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EncodingError("not unpadded base64url") from exc
    # Re-encoding catches non-zero trailing bits, which decoders otherwise ignore silently.
    if b64url_encode(data) != text:
        raise EncodingError("non-canonical base64url (trailing bits)")
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes, got {len(data)}")
    return data


def parse_uuid(text: object) -> uuid.UUID:
    """Lowercase canonical UUID text only (§2.6)."""
    if not isinstance(text, str) or _UUID_RE.fullmatch(text) is None:
        raise EncodingError("UUID must be lowercase canonical text")
    return uuid.UUID(text)


def uuid_text(u: uuid.UUID) -> str:
    return str(u)


def is_uuid7(u: uuid.UUID) -> bool:
    """Version 7 and the RFC 9562 variant, as ids made in the browser must be (§2.4)."""
    return u.version == 7 and u.variant == uuid.RFC_4122


def check_uuid7(u: uuid.UUID) -> uuid.UUID:
    if not is_uuid7(u):
        raise EncodingError("id must be a UUIDv7")
    return u


def sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def sha512(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA512())
    digest.update(data)
    return digest.finalize()


class Sha256Stream:
    """Incremental SHA-256 for blobs hashed while they stream (§7.5)."""

    def __init__(self) -> None:
        self._hash = hashes.Hash(hashes.SHA256())

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.copy().finalize()
