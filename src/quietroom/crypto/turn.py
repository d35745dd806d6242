"""TURN REST credentials for coturn's ``use-auth-secret`` mode (crypto-protocol.md §12.2).

The username holds an expiry and an opaque random id, never the user id, so TURN logs carry no
identity.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes, hmac

from quietroom.crypto.encoding import b64url_encode
from quietroom.crypto.errors import EncodingError
from quietroom.crypto.keys import Rng, random_bytes

DEFAULT_TTL: Final = 3 * 3600
MAX_TTL: Final = 4 * 3600


@dataclass(frozen=True, slots=True)
class TurnCredentials:
    urls: tuple[str, ...]
    username: str
    credential: str
    ttl: int

    def as_json(self) -> dict[str, object]:
        return {
            "urls": list(self.urls),
            "username": self.username,
            "credential": self.credential,
            "ttl": self.ttl,
        }


def turn_password(secret: bytes, username: str) -> str:
    """``base64(HMAC-SHA1(secret, username))`` in standard base64, as coturn computes it."""
    mac = hmac.HMAC(secret, hashes.SHA1())  # noqa: S303 - coturn's TURN REST scheme fixes SHA-1
    mac.update(username.encode("ascii"))
    return base64.b64encode(mac.finalize()).decode("ascii")


def turn_credentials(
    secret: bytes,
    urls: tuple[str, ...],
    *,
    now: int,
    ttl: int = DEFAULT_TTL,
    rng: Rng = random_bytes,
) -> TurnCredentials:
    """``now`` is Unix seconds (coturn compares the expiry with its own clock in seconds)."""
    if not 0 < ttl <= MAX_TTL:
        raise EncodingError("TURN credential TTL must be positive and at most 4 h")
    if len(secret) < 16:
        raise EncodingError("TURN secret too short")
    username = f"{now + ttl}:{b64url_encode(rng(16))}"
    return TurnCredentials(urls, username, turn_password(secret, username), ttl)
