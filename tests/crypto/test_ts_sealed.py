"""Cross-language round trip (§14): everything the TypeScript side sealed and signed opens here.

testdata/vectors/ts-sealed.json is written by web/src/crypto (see README-ts-sealed.md) with the
world keys of qr1.json. Its seals are random, so it is opened and verified, never compared.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from tink import streaming_aead

from quietroom.crypto import (
    account,
    devices,
    envelope,
    practice,
    recovery,
    stream,
    vector_runner,
    webrtc,
)
from quietroom.crypto.errors import CryptoError
from quietroom.crypto.keys import (
    kid,
    pkcs8_decode_x25519,
    pkcs8_encode,
    raw_public,
    x25519_from_seed,
)
from quietroom.crypto.password import KdfParams
from tests.crypto.test_stream import TinkFactory

TS_FILE = Path(__file__).resolve().parents[2] / "testdata" / "vectors" / "ts-sealed.json"
Json = dict[str, Any]


@pytest.fixture(scope="module")
def ts() -> Json:
    # The file is part of the vector set: a missing file is a failure, not a skip.
    data: Json = json.loads(TS_FILE.read_text(encoding="utf-8"))
    assert data["suite"] == "qr1"
    return data


def x(value: str) -> bytes:
    return bytes.fromhex(value)


def _aek_id(pkcs8_hex: str) -> bytes:
    return kid("x25519", raw_public(pkcs8_decode_x25519(x(pkcs8_hex))))


def test_ts_items_open_for_every_reader(qr1: Json, ts: Json) -> None:
    opened = vector_runner.check_foreign_items(
        qr1, {"producer": "ts", "items": ts["item"]["cases"]}
    )
    assert opened == sum(len(c["expect"]["readers"]) for c in ts["item"]["cases"])
    for case in ts["item"]["cases"]:
        revisions = [envelope.decode_item_obj(r) for r in case["revisions"]]
        assert [r.hdr.hash().hex() for r in revisions] == case["expect"]["h"]
        assert case["expect"]["root_h"] == case["expect"]["h"][0]


def test_ts_streams_open_here_and_in_tink(ts: Json) -> None:
    streaming_aead.register()
    factory = TinkFactory()
    for case in ts["stream"]["cases"]:
        ct = base64.urlsafe_b64decode(case["ct_b64url"] + "=" * (-len(case["ct_b64url"]) % 4))
        size = case["size"]
        assert len(ct) == case["ct_len"] == stream.ciphertext_length(size)
        assert stream.decrypt_bytes(x(case["cek"]), x(case["aad"]), ct) == stream.pattern(size)
        with factory(x(case["cek"])).new_decrypting_stream(io.BytesIO(ct), x(case["aad"])) as dec:
            assert dec.read() == stream.pattern(size)


def test_ts_account_objects(qr1: Json, ts: Json) -> None:
    pw = ts["pw_wrap"]
    kdf = KdfParams(pw["kdf"]["m"], pw["kdf"]["t"], pw["kdf"]["p"])
    uk = account.unlock_with_password(
        pw["password"],
        x(pw["pw_wrap"]),
        user_id=uuid.UUID(pw["user_id"]),
        salt=x(pw["salt"]),
        params=kdf,
        ver=pw["ver"],
        secret_key=None if pw["secret_key"] is None else x(pw["secret_key"]),
    )
    assert uk.hex() == pw["uk"]
    b = ts["bundle"]
    keys = account.open_bundle(x(b["uk"]), envelope.decode_bundle_obj(b["envelope"]))
    assert pkcs8_encode(keys.aik).hex() == b["aik_pkcs8"]
    assert pkcs8_encode(keys.aek).hex() == b["aek_pkcs8"]
    bind = envelope.decode_aek_bind_obj(ts["aek_bind"]["envelope"])
    account.verify_aek_bind(bind, x(ts["aek_bind"]["aik_pub"]))
    dw = ts["dev_wrap"]
    got = devices.open_dev_wrap(
        x25519_from_seed(x(dw["dk_enc_seed"])),
        x(dw["dev_wrap"]),
        user_id=uuid.UUID(dw["user_id"]),
        device_id=uuid.UUID(dw["device_id"]),
    )
    assert got.hex() == dw["uk"]
    re = ts["rec_escrow"]
    aek = account.open_rec_escrow(
        x25519_from_seed(x(re["prk_seed"])),
        x(re["escrow"]),
        practice_id=uuid.UUID(re["practice_id"]),
        user_id=uuid.UUID(re["user_id"]),
        aek_id=_aek_id(re["aek_pkcs8"]),
    )
    assert pkcs8_encode(aek).hex() == re["aek_pkcs8"]
    pw2 = ts["prsk_wrap"]
    prsk = practice.open_prsk_wrap(
        x25519_from_seed(x(pw2["admin_aek_seed"])),
        x(pw2["wrap"]),
        practice_id=uuid.UUID(pw2["practice_id"]),
        admin_user_id=uuid.UUID(pw2["admin_user_id"]),
        prsk_pub=x(pw2["prsk_pub"]),
    )
    assert raw_public(prsk).hex() == pw2["prsk_pub"]
    rec = ts["recovery"]
    got_aek = recovery.open_transfer(
        x25519_from_seed(x(rec["t_seed"])),
        x(rec["transfer"]),
        practice_id=uuid.UUID(rec["practice_id"]),
        user_id=uuid.UUID(rec["user_id"]),
        aek_id=_aek_id(rec["aek_pkcs8"]),
    )
    assert pkcs8_encode(got_aek).hex() == rec["aek_pkcs8"]
    assert qr1["recovery"]["t_seed"] == rec["t_seed"]


def test_ts_directory_objects(qr1: Json, ts: Json) -> None:
    dl = ts["device_list"]
    versions = [envelope.decode_device_list_obj(v) for v in dl["versions"]]
    devices.accept_device_list(
        None, versions, user_id=uuid.UUID(dl["user_id"]), aik_pubs=[x(dl["aik_pub"])]
    )
    for previous, new in zip([None, *versions], versions, strict=False):
        devices.check_successor(previous, new, [x(dl["aik_pub"])])
    world = qr1["world"]
    directory = vector_runner.trust_for(world).directory
    directory.verify_cert(envelope.decode_cert_obj(ts["member_cert"]["cert"]))
    fp = ts["webrtc_fp"]
    webrtc.verify_statement(
        envelope.decode_fingerprint_obj(fp["statement"]),
        call_id=uuid.UUID(fp["call_id"]),
        role=fp["role"],
        peer_user_id=uuid.UUID(fp["peer_user_id"]),
        peer_devices=envelope.decode_device_list_obj(fp["device_list"]),
        remote_sdp=fp["sdp"],
    )


def test_ts_seals_fail_when_tampered(qr1: Json, ts: Json) -> None:
    case = json.loads(json.dumps(ts["item"]["cases"][0]))
    sig = case["revisions"][0]["sig"]
    case["revisions"][0]["sig"] = ("B" if sig[0] == "A" else "A") + sig[1:]
    with pytest.raises(CryptoError) as info:
        vector_runner.check_foreign_items(qr1, {"producer": "ts", "items": [case]})
    assert info.value.code == "E_SIG"
