"""Password-derived keys, Secret Key, account bundle, escrow, device wraps (§3, §4, §5.2)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietroom.crypto import account, devices, password, practice, recovery
from quietroom.crypto.errors import (
    CryptoError,
    EncodingError,
    KdfParamsError,
    UnlockError,
    WrapError,
)
from quietroom.crypto.keys import (
    ed25519_from_seed,
    hpke_seal,
    kid,
    pkcs8_decode_ed25519,
    pkcs8_decode_x25519,
    pkcs8_encode,
    raw_public,
    x25519_from_seed,
)
from quietroom.crypto.vectors import SMALL_KDF, T0, World


@pytest.mark.parametrize(
    "params",
    [
        password.KdfParams(32767, 3, 1),
        password.KdfParams(1048577, 3, 1),
        password.KdfParams(65536, 2, 1),
        password.KdfParams(65536, 11, 1),
        password.KdfParams(65536, 3, 2),
        password.KdfParams(65536, 3, p=True),
    ],
)
def test_kdf_bounds_are_built_in(params: password.KdfParams) -> None:
    # A malicious server must not be able to lower the cost at prelogin (§3.2).
    with pytest.raises(KdfParamsError):
        password.derive_password_keys("pw", bytes(16), params)


def test_default_kdf() -> None:
    assert password.KdfParams(65536, 3, 1) == password.DEFAULT_KDF
    password.DEFAULT_KDF.check()


def test_nfkc_makes_input_methods_agree() -> None:
    mk = password.derive_master_key
    assert mk("ﬁ①", bytes(16), SMALL_KDF) == mk("fi1", bytes(16), SMALL_KDF)
    assert mk("pw ", bytes(16), SMALL_KDF) != mk("pw", bytes(16), SMALL_KDF)  # no trimming


def test_secret_key_separates_staff_keys() -> None:
    mk = os.urandom(32)
    client = password.derive_from_master_key(mk, None)
    staff = password.derive_from_master_key(mk, os.urandom(16))
    assert client.kek != staff.kek
    assert client.auth_key != staff.auth_key
    assert client.kek != bytes.fromhex("00" * 32)
    assert len(client.auth_key) == 43


def test_pw_wrap_round_trip_and_wrong_password() -> None:
    user_id, salt, uk = uuid.uuid4(), os.urandom(16), os.urandom(32)
    sk = password.generate_secret_key()
    keys = password.derive_password_keys("correct", salt, SMALL_KDF, sk)
    blob = account.seal_pw_wrap(keys.kek, uk, user_id=user_id, salt=salt, params=SMALL_KDF, ver=1)
    common: dict[str, Any] = {"user_id": user_id, "salt": salt, "params": SMALL_KDF, "ver": 1}
    assert account.unlock_with_password("correct", blob, secret_key=sk, **common) == uk
    with pytest.raises(UnlockError):
        account.unlock_with_password("wrong", blob, secret_key=sk, **common)
    # The same KEK with other context in the aad: a server swapping wraps between users or
    # versions is caught.
    with pytest.raises(UnlockError):
        account.open_pw_wrap(
            keys.kek, blob, user_id=uuid.uuid4(), salt=salt, params=SMALL_KDF, ver=1
        )
    with pytest.raises(UnlockError):
        account.open_pw_wrap(keys.kek, blob, user_id=user_id, salt=salt, params=SMALL_KDF, ver=2)


@given(st.binary(min_size=16, max_size=16))
def test_secret_key_format_round_trip(sk: bytes) -> None:
    text = password.format_secret_key(sk)
    assert text.startswith("QR1-")
    assert len(text) == 4 + 26 + 4
    assert [len(g) for g in text[4:].split("-")] == [6, 5, 5, 5, 5]
    assert password.parse_secret_key(text) == sk
    assert password.parse_secret_key(text.lower().replace("-", " ")) == sk
    assert password.parse_secret_key(text[4:]) == sk


@given(st.text(max_size=40))
def test_secret_key_parser_refuses_or_round_trips(text: str) -> None:
    try:
        sk = password.parse_secret_key(text)
    except EncodingError:
        return
    assert password.parse_secret_key(password.format_secret_key(sk)) == sk


def test_prelogin_salt_is_stable_and_distinct() -> None:
    secret = os.urandom(32)
    a = password.prelogin_salt(secret, "a@example.org")
    assert a == password.prelogin_salt(secret, "a@example.org")
    assert a != password.prelogin_salt(secret, "b@example.org")
    assert len(a) == 16


@given(st.sampled_from(["x25519", "ed25519"]), st.binary(min_size=32, max_size=32))
def test_pkcs8_round_trip(alg: str, seed: bytes) -> None:
    if alg == "x25519":
        der = pkcs8_encode(x25519_from_seed(seed))
        assert pkcs8_encode(pkcs8_decode_x25519(der)) == der
        with pytest.raises(EncodingError):
            pkcs8_decode_ed25519(der)
    else:
        der = pkcs8_encode(ed25519_from_seed(seed))
        assert pkcs8_encode(pkcs8_decode_ed25519(der)) == der
        with pytest.raises(EncodingError):
            pkcs8_decode_x25519(der)
    assert len(der) == 48
    assert der[16:] == seed


def test_bundle_round_trip_and_tamper(world: World) -> None:
    user = world.user("client")
    uk = account.generate_uk()
    bundle = account.seal_bundle(uk, user.keys, user_id=user.user_id, ver=1)
    keys = account.open_bundle(uk, bundle)
    assert keys.aik_pub == user.keys.aik_pub
    assert keys.aek_pub == user.keys.aek_pub
    for bad in (
        dataclasses.replace(bundle, ver=2),
        dataclasses.replace(bundle, user_id=uuid.uuid4()),
        dataclasses.replace(bundle, aik=bundle.aek, aek=bundle.aik),
        dataclasses.replace(bundle, aek_pub=world.user("therapist").keys.aek_pub),
    ):
        with pytest.raises(UnlockError):
            account.open_bundle(uk, bad)
    with pytest.raises(UnlockError):
        account.open_bundle(os.urandom(32), bundle)


def test_current_aek_takes_the_highest_valid_ver(world: World) -> None:
    user = world.user("client")
    new_aek = x25519_from_seed(os.urandom(32))
    b1 = account.sign_aek_bind(
        user.keys.aik, user_id=user.user_id, aek_pub=user.keys.aek_pub, ver=1, created_at=T0
    )
    b2 = account.sign_aek_bind(
        user.keys.aik, user_id=user.user_id, aek_pub=raw_public(new_aek), ver=2, created_at=T0 + 1
    )
    forged = account.AekBind(user.user_id, os.urandom(32), 3, T0 + 2, b2.sig)
    assert (
        account.current_aek([b1, forged, b2], user_id=user.user_id, aik_pub=user.keys.aik_pub) == b2
    )
    with pytest.raises(CryptoError):
        account.current_aek([forged], user_id=user.user_id, aik_pub=user.keys.aik_pub)


def test_escrow_and_recovery_transfer(world: World) -> None:
    user = world.user("client")
    escrow = account.seal_rec_escrow(
        world.keys.prk_pub, user.keys.aek, practice_id=world.practice_id, user_id=user.user_id
    )
    t = x25519_from_seed(os.urandom(32))
    transfer = recovery.recover_to_device(
        world.keys.prk,
        escrow,
        practice_id=world.practice_id,
        user_id=user.user_id,
        aek_id=user.keys.aek_id,
        t_pub=raw_public(t),
    )
    aek = recovery.open_transfer(
        t, transfer, practice_id=world.practice_id, user_id=user.user_id, aek_id=user.keys.aek_id
    )
    assert raw_public(aek) == user.keys.aek_pub
    with pytest.raises(WrapError):
        recovery.open_transfer(
            t,
            transfer,
            practice_id=world.practice_id,
            user_id=uuid.uuid4(),
            aek_id=user.keys.aek_id,
        )
    with pytest.raises(WrapError):
        account.open_rec_escrow(
            world.prk2,
            escrow,
            practice_id=world.practice_id,
            user_id=user.user_id,
            aek_id=user.keys.aek_id,
        )
    # The escrow names the AEK: an escrow of another key is refused even if it opens.
    info = account.rec_escrow_info(
        world.practice_id, user.user_id, user.keys.aek_id, world.keys.prk_id
    )
    other = hpke_seal(world.keys.prk_pub, info, pkcs8_encode(world.user("therapist").keys.aek))
    with pytest.raises(WrapError):
        account.open_rec_escrow(
            world.keys.prk,
            other,
            practice_id=world.practice_id,
            user_id=user.user_id,
            aek_id=user.keys.aek_id,
        )


def test_dev_wrap(world: World) -> None:
    user, device_id = world.user("client"), uuid.uuid4()
    dk = x25519_from_seed(os.urandom(32))
    uk = os.urandom(32)
    wrap = devices.seal_dev_wrap(raw_public(dk), uk, user_id=user.user_id, device_id=device_id)
    assert devices.open_dev_wrap(dk, wrap, user_id=user.user_id, device_id=device_id) == uk
    with pytest.raises(WrapError):
        devices.open_dev_wrap(dk, wrap, user_id=user.user_id, device_id=uuid.uuid4())
    with pytest.raises(WrapError):
        devices.open_dev_wrap(
            x25519_from_seed(os.urandom(32)), wrap, user_id=user.user_id, device_id=device_id
        )


def test_prsk_wrap(world: World) -> None:
    owner = world.user("owner")
    wrap = practice.seal_prsk_wrap(
        owner.keys.aek_pub,
        world.keys.prsk,
        practice_id=world.practice_id,
        admin_user_id=owner.user_id,
    )
    prsk = practice.open_prsk_wrap(
        owner.keys.aek,
        wrap,
        practice_id=world.practice_id,
        admin_user_id=owner.user_id,
        prsk_pub=world.keys.prsk_pub,
    )
    assert raw_public(prsk) == world.keys.prsk_pub
    assert kid("ed25519", raw_public(prsk)) == world.keys.prsk_id
