"""Safety numbers and codes people compare out of band (crypto-protocol.md §6.5).

``fp30`` follows Signal's numeric fingerprint construction (iterated SHA-512) with our own inputs.
"""

from __future__ import annotations

import uuid
from typing import Final

from cryptography.hazmat.primitives import hashes

from quietroom.crypto.encoding import I

FP_ITERATIONS: Final = 5200
SAFETY_NUMBER_PREFIX: Final = "QRSN1:"


def fp30(version: int, pub: bytes, ident: bytes) -> str:
    """30 decimal digits from ``BE16(version) ‖ pub ‖ ident`` hashed 5200 times with ``pub``."""
    digest = version.to_bytes(2, "big") + pub + ident
    for _ in range(FP_ITERATIONS):
        h = hashes.Hash(hashes.SHA512())
        h.update(digest)
        h.update(pub)
        digest = h.finalize()
    return "".join(
        f"{int.from_bytes(digest[5 * k : 5 * k + 5], 'big') % 100000:05d}" for k in range(6)
    )


def groups(digits: str, size: int = 5) -> list[str]:
    return [digits[i : i + size] for i in range(0, len(digits), size)]


def user_fingerprint(aik_pub: bytes, user_id: uuid.UUID) -> str:
    return fp30(0, aik_pub, I(user_id))


def safety_number(
    aik_pub_a: bytes, user_id_a: uuid.UUID, aik_pub_b: bytes, user_id_b: uuid.UUID
) -> str:
    """60 digits: the smaller half first, so both sides see the same number."""
    h_a = user_fingerprint(aik_pub_a, user_id_a)
    h_b = user_fingerprint(aik_pub_b, user_id_b)
    return min(h_a, h_b) + max(h_a, h_b)


def safety_number_qr(number: str) -> str:
    return SAFETY_NUMBER_PREFIX + number


def practice_code(prsk_pub: bytes, practice_id: uuid.UUID) -> str:
    """The practice security code printed on the sheet and published by the practice."""
    return fp30(1, prsk_pub, I(practice_id))


def recovery_transfer_code(t_pub: bytes, user_id: uuid.UUID) -> str:
    """The 30 digits an admin compares before recovering an account (§10.2)."""
    return fp30(2, t_pub, I(user_id))
