"""Account recovery when nothing is left (crypto-protocol.md §10.2).

The user's new device makes a one-time X25519 pair ``T``; an admin, after checking the person and
all 30 digits of ``fp30(2, T_pub, user_id)``, opens the AEK escrow with the PRK and re-seals the
AEK to ``T``. The admin signs a recovery record so the act is attributable.
"""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietroom.crypto.account import open_rec_escrow
from quietroom.crypto.encoding import B, I, T, U, label, pae
from quietroom.crypto.errors import EncodingError, WrapError
from quietroom.crypto.keys import (
    HpkeSealer,
    hpke_open,
    hpke_seal,
    kid,
    pkcs8_decode_x25519,
    pkcs8_encode,
    raw_public,
    sign,
    verify,
)


def transfer_info(practice_id: uuid.UUID, user_id: uuid.UUID, t_id: bytes, aek_id: bytes) -> bytes:
    return pae(label("recovery-transfer"), I(practice_id), I(user_id), B(t_id), B(aek_id))


def record_message(
    practice_id: uuid.UUID, user_id: uuid.UUID, *, t_id: bytes, aek_id: bytes, at: int, method: str
) -> bytes:
    return pae(
        label("recovery-record"), I(practice_id), I(user_id), B(t_id), B(aek_id), U(at), T(method)
    )


def recover_to_device(
    prk: X25519PrivateKey,
    escrow: bytes,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    aek_id: bytes,
    t_pub: bytes,
    hpke: HpkeSealer = hpke_seal,
) -> bytes:
    """Step 4, offline tool: open ``rec_escrow`` and re-seal the AEK to the device's ``T``."""
    aek = open_rec_escrow(prk, escrow, practice_id=practice_id, user_id=user_id, aek_id=aek_id)
    info = transfer_info(practice_id, user_id, kid("x25519", t_pub), aek_id)
    return hpke(t_pub, info, pkcs8_encode(aek))


def open_transfer(
    t: X25519PrivateKey,
    transfer: bytes,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    aek_id: bytes,
) -> X25519PrivateKey:
    """Step 5, the user's device: recover the AEK and check it is the one named."""
    info = transfer_info(practice_id, user_id, kid("x25519", raw_public(t)), aek_id)
    try:
        aek = pkcs8_decode_x25519(hpke_open(t, info, transfer))
    except EncodingError as exc:
        raise WrapError("transfer holds a malformed key") from exc
    if kid("x25519", raw_public(aek)) != aek_id:
        raise WrapError("transfer holds another AEK")
    return aek


def sign_record(
    admin_aik: Ed25519PrivateKey,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    t_id: bytes,
    aek_id: bytes,
    at: int,
    method: str,
) -> bytes:
    return sign(
        admin_aik,
        record_message(practice_id, user_id, t_id=t_id, aek_id=aek_id, at=at, method=method),
    )


def verify_record(
    admin_aik_pub: bytes,
    sig: bytes,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    t_id: bytes,
    aek_id: bytes,
    at: int,
    method: str,
) -> None:
    message = record_message(practice_id, user_id, t_id=t_id, aek_id=aek_id, at=at, method=method)
    verify(admin_aik_pub, sig, message)
