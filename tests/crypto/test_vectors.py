"""Every positive vector of qr1.json against this implementation, and the generator's stability."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from quietroom.crypto import (
    account,
    devices,
    envelope,
    password,
    practice,
    recovery,
    stream,
    turn,
    vector_runner,
    vectors,
    verification,
    webrtc,
)
from quietroom.crypto.chain import ChainHead
from quietroom.crypto.encoding import sha256
from quietroom.crypto.errors import ALL_CODES
from quietroom.crypto.keys import (
    ed25519_from_seed,
    hpke_open,
    kid,
    pkcs8_decode_ed25519,
    pkcs8_decode_x25519,
    pkcs8_encode,
    raw_public,
    x25519_from_seed,
)

Json = dict[str, Any]


def x(value: str) -> bytes:
    return bytes.fromhex(value)


def test_generator_reproduces_the_file_byte_for_byte(qr1: Json) -> None:
    # CI fails on any diff: the file is generated, never edited by hand.
    assert vectors.main(["--check"]) == 0
    assert json.loads(vectors.DEFAULT_PATH.read_text(encoding="utf-8")) == qr1


def test_sections_listed(qr1: Json) -> None:
    required = {
        "pae",
        "b64url",
        "key_id",
        "pkcs8",
        "argon2id",
        "authKey",
        "pw_wrap",
        "sk_format",
        "bundle",
        "hpke_open",
        "dev_wrap",
        "rec_escrow",
        "device_list",
        "practice_config",
        "member_cert",
        "safety_number",
        "practice_code",
        "item",
        "stream",
        "webrtc_fp",
        "negative",
    }
    assert required <= set(qr1["sections"])
    assert all(name in qr1 for name in qr1["sections"])


def test_file_is_small() -> None:
    assert len(vectors.DEFAULT_PATH.read_bytes()) < 2_000_000


def test_key_id_and_pkcs8(qr1: Json) -> None:
    for case in qr1["key_id"]["cases"]:
        assert kid(case["alg"], x(case["pub"])).hex() == case["kid"]
    for case in qr1["pkcs8"]["cases"]:
        if case["alg"] == "x25519":
            key_x = x25519_from_seed(x(case["seed"]))
            assert pkcs8_encode(key_x).hex() == case["pkcs8"]
            assert raw_public(pkcs8_decode_x25519(x(case["pkcs8"]))).hex() == case["pub"]
        else:
            key_e = ed25519_from_seed(x(case["seed"]))
            assert pkcs8_encode(key_e).hex() == case["pkcs8"]
            assert raw_public(pkcs8_decode_ed25519(x(case["pkcs8"]))).hex() == case["pub"]


def test_password_vectors(qr1: Json) -> None:
    for argon, auth in zip(qr1["argon2id"]["cases"], qr1["authKey"]["cases"], strict=True):
        params = password.KdfParams(argon["kdf"]["m"], argon["kdf"]["t"], argon["kdf"]["p"])
        assert password.normalize_password(argon["password"]).hex() == argon["password_nfkc_hex"]
        mk = password.derive_master_key(argon["password"], x(argon["salt"]), params)
        assert mk.hex() == argon["mk"]
        sk = None if auth["secret_key"] is None else x(auth["secret_key"])
        keys = password.derive_from_master_key(mk, sk)
        assert keys.auth_key == auth["auth_key"]
        assert len(keys.auth_key) == 43
        assert keys.kek.hex() == auth["kek"]


def test_pw_wrap_vectors(qr1: Json) -> None:
    for case in qr1["pw_wrap"]["cases"]:
        params = password.KdfParams(case["kdf"]["m"], case["kdf"]["t"], case["kdf"]["p"])
        user_id = uuid.UUID(case["user_id"])
        assert (
            account.pw_wrap_aad(user_id, x(case["salt"]), params, case["ver"]).hex() == case["aad"]
        )
        uk = account.open_pw_wrap(
            x(case["kek"]),
            x(case["pw_wrap"]),
            user_id=user_id,
            salt=x(case["salt"]),
            params=params,
            ver=case["ver"],
        )
        assert uk.hex() == case["uk"]
    # The full path (Argon2id included) once, at the small parameters.
    case = qr1["pw_wrap"]["cases"][0]
    uk = account.unlock_with_password(
        case["password"],
        x(case["pw_wrap"]),
        user_id=uuid.UUID(case["user_id"]),
        salt=x(case["salt"]),
        params=password.KdfParams(**{k: case["kdf"][k] for k in "mtp"}),
        ver=case["ver"],
        secret_key=x(case["secret_key"]),
    )
    assert uk.hex() == case["uk"]


def test_prelogin_and_sk(qr1: Json) -> None:
    for case in qr1["prelogin_salt"]["cases"]:
        assert password.prelogin_salt(x(case["secret"]), case["email"]).hex() == case["salt"]
    for case in qr1["sk_format"]["format"]:
        assert password.format_secret_key(x(case["secret_key"])) == case["display"]
    for case in qr1["sk_format"]["parse"]:
        assert password.parse_secret_key(case["text"]).hex() == case["secret_key"]


def test_bundle_vector(qr1: Json) -> None:
    sec = qr1["bundle"]
    client = qr1["world"]["users"]["client"]
    uk, user_id = x(sec["uk"]), uuid.UUID(sec["user_id"])
    assert account.bundle_key(uk, user_id).hex() == sec["bundle_key"]
    device_id = uuid.UUID(sec["local_key"]["device_id"])
    assert account.local_key(uk, user_id, device_id).hex() == sec["local_key"]["key"]
    keys = account.open_bundle(uk, envelope.decode_bundle_obj(sec["envelope"]))
    assert pkcs8_encode(keys.aek).hex() == sec["aek_pkcs8"]
    assert pkcs8_encode(keys.aik).hex() == sec["aik_pkcs8"]
    bind = envelope.decode_aek_bind_obj(sec["aek_bind"]["envelope"])
    assert bind.message().hex() == sec["aek_bind"]["message"]
    account.verify_aek_bind(bind, x(client["aik_pub"]))


def test_hpke_and_wrap_vectors(qr1: Json) -> None:
    for case in qr1["hpke_open"]["cases"]:
        sk = x25519_from_seed(x(case["recipient_seed"]))
        assert hpke_open(sk, x(case["info"]), x(case["ct"])).hex() == case["pt"]
    dw = qr1["dev_wrap"]
    uk = devices.open_dev_wrap(
        x25519_from_seed(x(dw["dk_enc_seed"])),
        x(dw["dev_wrap"]),
        user_id=uuid.UUID(dw["user_id"]),
        device_id=uuid.UUID(dw["device_id"]),
    )
    assert uk.hex() == dw["uk"]
    re = qr1["rec_escrow"]
    aek = account.open_rec_escrow(
        x25519_from_seed(x(re["prk_seed"])),
        x(re["escrow"]),
        practice_id=uuid.UUID(re["practice_id"]),
        user_id=uuid.UUID(re["user_id"]),
        aek_id=x(re["aek_id"]),
    )
    assert pkcs8_encode(aek).hex() == re["aek_pkcs8"]
    pw = qr1["prsk_wrap"]
    prsk = practice.open_prsk_wrap(
        x25519_from_seed(x(pw["admin_aek_seed"])),
        x(pw["wrap"]),
        practice_id=uuid.UUID(pw["practice_id"]),
        admin_user_id=uuid.UUID(pw["admin_user_id"]),
        prsk_pub=x(pw["prsk_pub"]),
    )
    assert pkcs8_encode(prsk).hex() == pw["prsk_pkcs8"]


def test_device_list_vectors(qr1: Json) -> None:
    sec = qr1["device_list"]
    versions = [envelope.decode_device_list_obj(v["envelope"]) for v in sec["versions"]]
    for dl, v in zip(versions, sec["versions"], strict=True):
        assert dl.message().hex() == v["message"]
        assert sha256(dl.message()).hex() == v["hash"]
    head = devices.accept_device_list(
        None, versions, user_id=uuid.UUID(sec["user_id"]), aik_pubs=[x(sec["aik_pub"])]
    )
    assert head == ChainHead(3, x(sec["versions"][2]["hash"]))
    for case in sec["accepted"]:
        pinned = ChainHead(case["pinned"], x(sec["versions"][case["pinned"] - 1]["hash"]))
        assert devices.accept_device_list(
            pinned,
            versions[case["from"] :],
            user_id=uuid.UUID(sec["user_id"]),
            aik_pubs=[x(sec["aik_pub"])],
        ) == ChainHead(3, x(sec["versions"][2]["hash"]))
    for previous, new in zip([None, *versions], versions, strict=False):
        devices.check_successor(previous, new, [x(sec["aik_pub"])])


def test_practice_vectors(qr1: Json) -> None:
    sec = qr1["practice_config"]
    configs = [envelope.decode_config_obj(v["envelope"]) for v in sec["versions"]]
    for config, v in zip(configs, sec["versions"], strict=True):
        assert config.message().hex() == v["message"]
    practice.accept_configs(
        None, configs, practice_id=uuid.UUID(sec["practice_id"]), pinned_prsk_pub=x(sec["prsk_pub"])
    )
    sheet = qr1["sheet"]
    keys = practice.parse_sheet_payload(sheet["payload"])
    assert keys.sheet_payload() == sheet["payload"]
    assert practice.seed_groups(x(sheet["prk_seed"])) == sheet["prk_seed_groups"]
    keys.check_against(configs[0])
    mc = qr1["member_cert"]
    directory = practice.Directory(
        uuid.UUID(mc["practice_id"]),
        x(mc["prsk_pub"]),
        [envelope.decode_cert_obj(c["envelope"]) for c in mc["certs"]],
        [],
    )
    for case in mc["certs"]:
        cert = envelope.decode_cert_obj(case["envelope"])
        assert cert.message().hex() == case["message"]
        directory.verify_cert(cert, at=cert.valid_from)
    rev = envelope.decode_revocation_obj(mc["revocation"]["envelope"])
    assert rev.message().hex() == mc["revocation"]["message"]
    practice.verify_revocation(rev, directory)


def test_codes(qr1: Json) -> None:
    for case in qr1["safety_number"]["cases"]:
        a, b = x(case["aik_pub_a"]), x(case["aik_pub_b"])
        ua, ub = uuid.UUID(case["user_id_a"]), uuid.UUID(case["user_id_b"])
        assert verification.user_fingerprint(a, ua) == case["fp_a"]
        assert verification.safety_number(a, ua, b, ub) == case["safety_number"]
        assert verification.safety_number(b, ub, a, ua) == case["safety_number"]
        assert verification.safety_number_qr(case["safety_number"]) == case["qr"]
    for case in qr1["practice_code"]["cases"]:
        code = verification.practice_code(x(case["prsk_pub"]), uuid.UUID(case["practice_id"]))
        assert code == case["code"]
    for case in qr1["practice_code"]["recovery_transfer_code"]:
        code = verification.recovery_transfer_code(x(case["t_pub"]), uuid.UUID(case["user_id"]))
        assert code == case["code"]


def test_item_vectors(qr1: Json) -> None:
    vector_runner.check_items(qr1)
    for case in qr1["item"]["cases"]:
        revisions = [envelope.decode_item_obj(r) for r in case["revisions"]]
        assert [r.hdr.hash().hex() for r in revisions] == case["expect"]["h"]


@pytest.mark.parametrize("size", vectors.STREAM_SIZES)
def test_stream_vectors(qr1: Json, size: int) -> None:
    case = next(c for c in qr1["stream"]["cases"] if c["size"] == size)
    cek, aad, ct = vector_runner.stream_ciphertext(qr1, size)
    assert len(ct) == case["ct_len"] == stream.ciphertext_length(size)
    assert sha256(ct).hex() == case["ct_sha256"]
    if "ct" in case:
        assert ct.hex() == case["ct"]
    out = io.BytesIO()
    assert stream.decrypt_stream(cek, aad, io.BytesIO(ct), out) == size
    assert out.getvalue() == stream.pattern(size)


def test_webrtc_turn_recovery_vectors(qr1: Json) -> None:
    sec = qr1["webrtc_fp"]
    st = envelope.decode_fingerprint_obj(sec["statement"])
    assert st.message().hex() == sec["message"]
    webrtc.verify_statement(
        st,
        call_id=uuid.UUID(sec["call_id"]),
        role=sec["role"],
        peer_user_id=uuid.UUID(sec["peer_user_id"]),
        peer_devices=envelope.decode_device_list_obj(sec["device_list"]),
        remote_sdp=sec["sdp"],
    )
    t = qr1["turn"]
    assert turn.turn_password(x(t["secret"]), t["username"]) == t["credential"]
    assert int(t["username"].split(":")[0]) == t["now"] + t["ttl"]
    rec = qr1["recovery"]
    aek = recovery.open_transfer(
        x25519_from_seed(x(rec["t_seed"])),
        x(rec["transfer"]),
        practice_id=uuid.UUID(rec["practice_id"]),
        user_id=uuid.UUID(rec["user_id"]),
        aek_id=x(rec["aek_id"]),
    )
    assert kid("x25519", raw_public(aek)).hex() == rec["aek_id"]
    r = rec["record"]
    recovery.verify_record(
        x(r["admin_aik_pub"]),
        x(r["sig"]),
        practice_id=uuid.UUID(rec["practice_id"]),
        user_id=uuid.UUID(rec["user_id"]),
        t_id=kid("x25519", x(rec["t_pub"])),
        aek_id=x(rec["aek_id"]),
        at=r["at"],
        method=r["method"],
    )


def test_negative_codes_are_known(qr1: Json) -> None:
    assert {case["error"] for case in qr1["negative"]} <= set(ALL_CODES)
    assert {case["op"] for case in qr1["negative"]} <= set(vector_runner.OPS)


def _negative_ids() -> list[str]:
    data = json.loads(vectors.DEFAULT_PATH.read_text(encoding="utf-8"))
    names = [case["name"] for case in data["negative"]]
    assert len(names) == len(set(names)), "negative vector names must be unique"
    return names


@pytest.mark.parametrize("name", _negative_ids())
def test_negative_vector(qr1: Json, name: str) -> None:
    case = next(c for c in qr1["negative"] if c["name"] == name)
    assert vector_runner.run_negative(qr1, case) == case["error"]
