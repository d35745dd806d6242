"""Account keys: UK, password wrap, bundle, ``aek_bind``, recovery escrow (crypto-protocol.md §4).

UK is the account's root secret. It is stored only wrapped (``pw_wrap`` under the password KEK,
``dev_wrap`` per device), and it encrypts the AIK (signing) and AEK (decryption) private keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietroom.crypto.encoding import ZS, B, I, L, T, U, label, pae
from quietroom.crypto.errors import EncodingError, SignatureError, UnlockError, WrapError
from quietroom.crypto.keys import (
    HpkeSealer,
    Rng,
    aead_open,
    aead_seal,
    hkdf,
    hpke_open,
    hpke_seal,
    kid,
    pkcs8_decode_ed25519,
    pkcs8_decode_x25519,
    pkcs8_encode,
    random_bytes,
    raw_public,
    sign,
    verify,
)
from quietroom.crypto.password import KdfParams, derive_password_keys

UK_LEN = 32


def generate_uk(rng: Rng = random_bytes) -> bytes:
    return rng(UK_LEN)


# -- pw_wrap (§4.2) ------------------------------------------------------------------------------


def pw_wrap_aad(user_id: uuid.UUID, salt: bytes, params: KdfParams, ver: int) -> bytes:
    kdf = L(T("argon2id"), U(params.m), U(params.t), U(params.p))
    return pae(label("pw-wrap"), I(user_id), B(salt), kdf, U(ver))


def seal_pw_wrap(
    kek: bytes,
    uk: bytes,
    *,
    user_id: uuid.UUID,
    salt: bytes,
    params: KdfParams,
    ver: int,
    rng: Rng = random_bytes,
) -> bytes:
    if len(uk) != UK_LEN:
        raise EncodingError("UK must be 32 bytes")
    return aead_seal(kek, uk, pw_wrap_aad(user_id, salt, params, ver), rng=rng)


def open_pw_wrap(
    kek: bytes, pw_wrap: bytes, *, user_id: uuid.UUID, salt: bytes, params: KdfParams, ver: int
) -> bytes:
    """Raises ``E_UNLOCK`` ("wrong password or Secret Key") on any failure."""
    uk = aead_open(kek, pw_wrap, pw_wrap_aad(user_id, salt, params, ver), UnlockError)
    if len(uk) != UK_LEN:
        raise UnlockError("pw_wrap does not hold a 32-byte UK")
    return uk


def unlock_with_password(
    password: str,
    pw_wrap: bytes,
    *,
    user_id: uuid.UUID,
    salt: bytes,
    params: KdfParams,
    ver: int,
    secret_key: bytes | None = None,
) -> bytes:
    """Client unlock: bounds (``E_KDF_PARAMS``), Argon2id, HKDF, open (``E_UNLOCK``)."""
    params.check()
    keys = derive_password_keys(password, salt, params, secret_key)
    return open_pw_wrap(keys.kek, pw_wrap, user_id=user_id, salt=salt, params=params, ver=ver)


# -- bundle (§4.3) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bundle:
    user_id: uuid.UUID
    ver: int
    aik_pub: bytes
    aek_pub: bytes
    aik: bytes  # AEAD(K_b, aik_pkcs8, ...)
    aek: bytes  # AEAD(K_b, aek_pkcs8, ...)


@dataclass(frozen=True, slots=True)
class AccountKeys:
    aik: Ed25519PrivateKey
    aek: X25519PrivateKey

    @property
    def aik_pub(self) -> bytes:
        return raw_public(self.aik)

    @property
    def aek_pub(self) -> bytes:
        return raw_public(self.aek)

    @property
    def aik_id(self) -> bytes:
        return kid("ed25519", self.aik_pub)

    @property
    def aek_id(self) -> bytes:
        return kid("x25519", self.aek_pub)


def bundle_key(uk: bytes, user_id: uuid.UUID) -> bytes:
    return hkdf(uk, ZS, pae(label("bundle-key"), I(user_id)), 32)


def _bundle_aad(user_id: uuid.UUID, which: str, pub: bytes, ver: int) -> bytes:
    return pae(label("bundle"), I(user_id), T(which), B(pub), U(ver))


def seal_bundle(
    uk: bytes, keys: AccountKeys, *, user_id: uuid.UUID, ver: int, rng: Rng = random_bytes
) -> Bundle:
    k_b = bundle_key(uk, user_id)
    aik_pub, aek_pub = keys.aik_pub, keys.aek_pub
    return Bundle(
        user_id=user_id,
        ver=ver,
        aik_pub=aik_pub,
        aek_pub=aek_pub,
        aik=aead_seal(
            k_b, pkcs8_encode(keys.aik), _bundle_aad(user_id, "aik", aik_pub, ver), rng=rng
        ),
        aek=aead_seal(
            k_b, pkcs8_encode(keys.aek), _bundle_aad(user_id, "aek", aek_pub, ver), rng=rng
        ),
    )


def open_bundle(uk: bytes, bundle: Bundle) -> AccountKeys:
    """Opens both halves; a tampered bundle or a mismatched public key is ``E_UNLOCK``."""
    k_b = bundle_key(uk, bundle.user_id)
    aik_der = aead_open(
        k_b, bundle.aik, _bundle_aad(bundle.user_id, "aik", bundle.aik_pub, bundle.ver), UnlockError
    )
    aek_der = aead_open(
        k_b, bundle.aek, _bundle_aad(bundle.user_id, "aek", bundle.aek_pub, bundle.ver), UnlockError
    )
    try:
        keys = AccountKeys(aik=pkcs8_decode_ed25519(aik_der), aek=pkcs8_decode_x25519(aek_der))
    except EncodingError as exc:
        raise UnlockError("bundle holds a malformed private key") from exc
    # The public keys sit beside the ciphertext in aad; recomputing them catches a wrong pairing.
    if keys.aik_pub != bundle.aik_pub or keys.aek_pub != bundle.aek_pub:
        raise UnlockError("bundle private key does not match its public key")
    return keys


def local_key(uk: bytes, user_id: uuid.UUID, device_id: uuid.UUID) -> bytes:
    """``K_local`` for anything a feature persists on the device (§4.5)."""
    return hkdf(uk, ZS, pae(label("local-key"), I(user_id), I(device_id)), 32)


# -- aek_bind (§4.4) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AekBind:
    user_id: uuid.UUID
    aek_pub: bytes
    ver: int
    created_at: int
    sig: bytes

    def message(self) -> bytes:
        return aek_bind_message(self.user_id, self.aek_pub, self.ver, self.created_at)


def aek_bind_message(user_id: uuid.UUID, aek_pub: bytes, ver: int, created_at: int) -> bytes:
    return pae(label("aek-bind"), I(user_id), B(aek_pub), U(ver), U(created_at))


def sign_aek_bind(
    aik: Ed25519PrivateKey, *, user_id: uuid.UUID, aek_pub: bytes, ver: int, created_at: int
) -> AekBind:
    message = aek_bind_message(user_id, aek_pub, ver, created_at)
    return AekBind(user_id, aek_pub, ver, created_at, sign(aik, message))


def verify_aek_bind(bind: AekBind, aik_pub: bytes) -> None:
    verify(aik_pub, bind.sig, bind.message())


def current_aek(binds: Iterable[AekBind], *, user_id: uuid.UUID, aik_pub: bytes) -> AekBind:
    """The valid ``aek_bind`` with the highest ``ver`` (§4.4); ``E_SIG`` when none is valid."""
    best: AekBind | None = None
    for bind in binds:
        if bind.user_id != user_id:
            continue
        try:
            verify_aek_bind(bind, aik_pub)
        except SignatureError:
            continue
        if best is None or bind.ver > best.ver:
            best = bind
    if best is None:
        raise SignatureError("no valid aek_bind under this AIK")
    return best


# -- rec_escrow (§4.4) ---------------------------------------------------------------------------


def rec_escrow_info(
    practice_id: uuid.UUID, user_id: uuid.UUID, aek_id: bytes, prk_id: bytes
) -> bytes:
    return pae(label("rec-escrow"), I(practice_id), I(user_id), B(aek_id), B(prk_id))


def seal_rec_escrow(
    prk_pub: bytes,
    aek: X25519PrivateKey,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    hpke: HpkeSealer = hpke_seal,
) -> bytes:
    info = rec_escrow_info(
        practice_id, user_id, kid("x25519", raw_public(aek)), kid("x25519", prk_pub)
    )
    return hpke(prk_pub, info, pkcs8_encode(aek))


def open_rec_escrow(
    prk: X25519PrivateKey,
    escrow: bytes,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    aek_id: bytes,
) -> X25519PrivateKey:
    """Recovers the AEK; checks that it really is the key named by ``aek_id`` (``E_WRAP``)."""
    info = rec_escrow_info(practice_id, user_id, aek_id, kid("x25519", raw_public(prk)))
    der = hpke_open(prk, info, escrow)
    try:
        aek = pkcs8_decode_x25519(der)
    except EncodingError as exc:
        raise WrapError("escrow holds a malformed key") from exc
    if kid("x25519", raw_public(aek)) != aek_id:
        raise WrapError("escrow holds another AEK")
    return aek
