"""Deterministic test vectors for suite ``qr1``: ``testdata/vectors/qr1.json`` (protocol §14).

Run ``python -m quietroom.crypto.vectors --write`` to regenerate the file and ``--check`` to
regenerate it in memory and fail on any difference (CI does the latter).

File structure (stable; the TypeScript side reads it)
-----------------------------------------------------
The top level is an object::

    {"suite": "qr1", "format": 1, "generator": ..., "seeds": ..., "conventions": ..., <sections>}

Conventions:

* Raw byte values in the vector file are **lowercase hex** (``*_hex`` or documented fields such as
  ``seed``, ``pub``). Protocol envelopes (items, wraps, grants, device lists, configs,
  certificates, revocations, bundles, ``aek_bind``, WebRTC statements) are embedded **exactly as
  protocol JSON** (base64url inside, §2.6), under keys named ``envelope`` or in lists of them.
* UUIDs are lowercase canonical text; times are Unix milliseconds.
* Every random value (keys, nonces, CEKs, salts, HPKE ephemerals) comes from
  ``DetRng(name)``: ``HKDF-SHA256(ikm = SEED, salt = 32 zero bytes, info = PAE("quietroom-test/rng",
  name, LE64(counter)), n)`` with ``SEED = "quietroom qr1 test vectors v1"`` (UTF-8). The TypeScript
  side never needs to reproduce it: every value it needs is stored.
* HPKE seals are made with pyhpke and a fixed ephemeral key (``cryptography`` cannot fix it), so
  the file is byte-for-byte stable; readers MUST open them, never re-seal and compare.
* Ed25519 here is deterministic (RFC 8032), so signatures match byte for byte; TypeScript must
  verify them rather than re-sign and compare (Safari's Ed25519 is randomised).
* Large stream plaintexts are not stored: they are the pattern ``byte[i] = i mod 251``.

Sections (each listed in ``sections``): ``pae``, ``b64url``, ``uuid``, ``key_id``, ``pkcs8``,
``argon2id``, ``authKey``, ``pw_wrap``, ``prelogin_salt``, ``sk_format``, ``bundle``, ``hpke_open``,
``dev_wrap``, ``rec_escrow``, ``prsk_wrap``, ``device_list``, ``practice_config``, ``sheet``,
``member_cert``, ``safety_number``, ``practice_code``, ``world``, ``item``, ``stream``,
``webrtc_fp``, ``turn``, ``recovery``, ``negative``. ``testdata/vectors/README.md`` describes
each entry's fields.

``negative`` is a list of ``{"name", "op", "input", "error"}``; ``op`` names one operation (see the
README for each op's input) and ``error`` is the expected ``E_*`` code.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey

from quietroom.crypto import (
    account,
    devices,
    envelope,
    items,
    password,
    practice,
    recovery,
    stream,
    turn,
    vector_runner,
    verification,
    webrtc,
)
from quietroom.crypto.encoding import (
    NIL_UUID,
    ZS,
    B,
    I,
    L,
    T,
    U,
    b64url_decode,
    b64url_encode,
    label,
    pae,
    sha256,
)
from quietroom.crypto.keys import (
    aead_seal,
    ed25519_from_seed,
    hkdf,
    kid,
    pkcs8_encode,
    raw_public,
    sign,
    x25519_from_seed,
)

SEED: Final = b"quietroom qr1 test vectors v1"
T0: Final = 1767225600000  # 2026-01-01T00:00:00Z
DEFAULT_PATH: Final = Path(__file__).resolve().parents[3] / "testdata" / "vectors" / "qr1.json"
# Most password vectors use the smallest parameters the client accepts, to keep test runs short;
# one uses the default.
SMALL_KDF: Final = password.KdfParams(m=32768, t=3, p=1)
STREAM_SIZES: Final = (0, 1, 1048519, 1048520, 1048521, 2097080, 2097081, 2500000)

Json = dict[str, Any]


class DetRng:
    """Deterministic byte source for vectors only (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        info = pae(T("quietroom-test/rng"), T(self.name), U(self.counter))
        self.counter += 1
        return hkdf(SEED, ZS, info, n)


def det(name: str, n: int = 32) -> bytes:
    return DetRng(name)(n)


def det_uuid7(name: str, ms: int) -> uuid.UUID:
    raw = bytearray(ms.to_bytes(6, "big") + det("uuid/" + name, 10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return uuid.UUID(bytes=bytes(raw))


def det_uuid4(name: str) -> uuid.UUID:
    raw = bytearray(det("uuid/" + name, 16))
    raw[6] = 0x40 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return uuid.UUID(bytes=bytes(raw))


class DetHpke:
    """Base-mode HPKE seal with an ephemeral key derived from ``DetRng`` (pyhpke)."""

    def __init__(self, name: str) -> None:
        self.rng = DetRng("hpke/" + name)
        self.suite = CipherSuite.new(
            KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM
        )

    def __call__(self, public_key: bytes, info: bytes, plaintext: bytes) -> bytes:
        eks = self.suite.kem.derive_key_pair(self.rng(32))
        pkr = KEMKey.from_pyca_cryptography_key(X25519PublicKey.from_public_bytes(public_key))
        enc, ctx = self.suite.create_sender_context(pkr, info, eks=eks)
        ct: bytes = ctx.seal(plaintext)
        return bytes(enc) + ct


def h(data: bytes) -> str:
    return data.hex()


def u(value: uuid.UUID) -> str:
    return str(value)


# -- the world: one practice with its members ----------------------------------------------------


class User:
    def __init__(self, name: str, role: str, joined: int) -> None:
        self.name = name
        self.role = role
        self.user_id = det_uuid4("user/" + name)
        self.aik_seed = det(f"user/{name}/aik")
        self.aek_seed = det(f"user/{name}/aek")
        self.keys = account.AccountKeys(
            aik=ed25519_from_seed(self.aik_seed), aek=x25519_from_seed(self.aek_seed)
        )
        self.joined = joined

    def as_json(self) -> Json:
        return {
            "user_id": u(self.user_id),
            "role": self.role,
            "aik_seed": h(self.aik_seed),
            "aek_seed": h(self.aek_seed),
            "aik_pub": h(self.keys.aik_pub),
            "aek_pub": h(self.keys.aek_pub),
            "aik_id": h(self.keys.aik_id),
            "aek_id": h(self.keys.aek_id),
        }


class World:
    """The practice every item, certificate and negative vector refers to."""

    def __init__(self) -> None:
        self.practice_id = det_uuid4("practice")
        self.keys = practice.PracticeKeys.from_seeds(
            self.practice_id, det("practice/prk"), det("practice/prsk")
        )
        self.prk2_seed = det("practice/prk-rotated")
        self.prk2 = x25519_from_seed(self.prk2_seed)
        self.config = practice.sign_config(
            self.keys.prsk,
            practice_id=self.practice_id,
            seq=1,
            prev_hash=bytes(32),
            prk_pub=self.keys.prk_pub,
            name="Quietroom Test Practice",
            policy={"staff_password_every_start": "false", "blob_limit": "104857600"},
        )
        self.users = {
            "owner": User("owner", "owner", T0),
            "therapist": User("therapist", "therapist", T0 + 1000),
            "client": User("client", "client", T0 + 2000),
            "other_client": User("other_client", "client", T0 + 3000),
            "supervisor": User("supervisor", "therapist", T0 + 4000),
        }
        self.certs: list[practice.MemberCert] = []
        for name in ("owner", "therapist", "supervisor"):
            user = self.users[name]
            self.certs.append(
                practice.issue_cert(
                    self.keys.prsk,
                    issuer_kind="prsk",
                    practice_id=self.practice_id,
                    user_id=user.user_id,
                    role=user.role,
                    aik_pub=user.keys.aik_pub,
                    valid_from=user.joined,
                    reason="enrolled",
                )
            )
        for name in ("client", "other_client"):
            user = self.users[name]
            self.certs.append(
                practice.issue_cert(
                    self.users["therapist"].keys.aik,
                    issuer_kind="member",
                    practice_id=self.practice_id,
                    user_id=user.user_id,
                    role="client",
                    aik_pub=user.keys.aik_pub,
                    valid_from=user.joined,
                    reason="enrolled",
                )
            )

    def user(self, name: str) -> User:
        return self.users[name]

    def directory(self) -> practice.Directory:
        return practice.Directory(self.practice_id, self.keys.prsk_pub, list(self.certs), [])

    def trust(self) -> items.Trust:
        return items.Trust(self.directory())

    def as_json(self) -> Json:
        return {
            "practice_id": u(self.practice_id),
            "prk_seed": h(det("practice/prk")),
            "prsk_seed": h(det("practice/prsk")),
            "prk_pub": h(self.keys.prk_pub),
            "prsk_pub": h(self.keys.prsk_pub),
            "prk_id": h(self.keys.prk_id),
            "prsk_id": h(self.keys.prsk_id),
            "prk_rotated_seed": h(self.prk2_seed),
            "prk_rotated_pub": h(raw_public(self.prk2)),
            "config": envelope.encode_config(self.config),
            "certs": [envelope.encode_cert(c) for c in self.certs],
            "revocations": [],
            "users": {name: user.as_json() for name, user in self.users.items()},
            "readers": "a reader is a user name (opens with that user's AEK) or 'prk' "
            "(the practice with its PRK, plus the rotated PRK when given)",
        }


# -- sections ------------------------------------------------------------------------------------


def typed_pieces() -> list[Json]:
    cases: list[tuple[str, list[Any], bytes]] = []
    uid = uuid.UUID("0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1f")
    cases.append(("empty PAE", [], pae()))
    cases.append(("one text piece", [["T", "qr/v1/key-id"]], pae(T("qr/v1/key-id"))))
    cases.append(
        (
            "all piece types",
            [
                ["T", "qr/v1/test"],
                ["U", 0],
                ["U", 2**53 - 1],
                ["I", u(uid)],
                ["I", u(NIL_UUID)],
                ["B", ""],
                ["B", "00ff10"],
                ["L", [["T", "a"], ["B", "01"]]],
                ["L", []],
                ["T", "Grüße, 日本"],
            ],
            pae(
                T("qr/v1/test"),
                U(0),
                U(2**53 - 1),
                I(uid),
                I(NIL_UUID),
                B(),
                B(bytes.fromhex("00ff10")),
                L(T("a"), B(b"\x01")),
                L(),
                T("Grüße, 日本"),
            ),
        )
    )
    return [{"name": n, "pieces": p, "pae_hex": h(out)} for n, p, out in cases]


def section_pae() -> Json:
    raw_cases = [[], [b""], [b"a"], [b"ab", b"", b"\x00" * 3]]
    return {
        "raw": [{"pieces_hex": [h(p) for p in c], "pae_hex": h(pae(*c))} for c in raw_cases],
        "typed": typed_pieces(),
    }


def section_b64url() -> Json:
    valid = [b"", b"f", b"fo", b"foo", b"\xfb\xff", b"\xff\xfe\xfd", bytes(range(32))]
    return {
        "valid": [{"hex": h(v), "text": b64url_encode(v)} for v in valid],
        "invalid": [
            "Zg==",
            "Zg=",
            "Zm9v ",
            " Zm9v",
            "Zm\n9v",
            "Zh",
            "Zm9=",
            "Z",
            "Zm+v",
            "Zm/v",
            "Zm9v!",
        ],
    }


def section_uuid() -> Json:
    return {
        "valid": ["0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1f", u(NIL_UUID)],
        "invalid": [
            "0192F0C1-2B3C-7D4E-8F50-6A7B8C9D0E1F",
            "0192f0c12b3c7d4e8f506a7b8c9d0e1f",
            "{0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1f}",
            "0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1",
            "urn:uuid:0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1f",
        ],
        "v7": [
            {"text": "0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1f", "is_v7": True},
            {"text": "0192f0c1-2b3c-4d4e-8f50-6a7b8c9d0e1f", "is_v7": False},
            {"text": "0192f0c1-2b3c-7d4e-cf50-6a7b8c9d0e1f", "is_v7": False},
        ],
    }


def section_keys(world: World) -> tuple[Json, Json]:
    key_ids, pkcs8s = [], []
    for name in ("a", "b"):
        x = x25519_from_seed(det(f"keys/x25519/{name}"))
        e = ed25519_from_seed(det(f"keys/ed25519/{name}"))
        key_ids.append(
            {"alg": "x25519", "pub": h(raw_public(x)), "kid": h(kid("x25519", raw_public(x)))}
        )
        key_ids.append(
            {"alg": "ed25519", "pub": h(raw_public(e)), "kid": h(kid("ed25519", raw_public(e)))}
        )
        pkcs8s.append(
            {
                "alg": "x25519",
                "seed": h(det(f"keys/x25519/{name}")),
                "pub": h(raw_public(x)),
                "pkcs8": h(pkcs8_encode(x)),
            }
        )
        pkcs8s.append(
            {
                "alg": "ed25519",
                "seed": h(det(f"keys/ed25519/{name}")),
                "pub": h(raw_public(e)),
                "pkcs8": h(pkcs8_encode(e)),
            }
        )
    key_ids.append({"alg": "x25519", "pub": h(world.keys.prk_pub), "kid": h(world.keys.prk_id)})
    return {"cases": key_ids}, {"cases": pkcs8s}


def section_password(world: World) -> dict[str, Json]:
    user = world.user("therapist")
    salt = password.prelogin_salt(det("server/prelogin-secret"), "theo@example.org")
    sk = det("therapist/secret-key", 16)
    cases = [
        ("small params, staff with Secret Key", "correct horse battery staple", SMALL_KDF, sk),
        (
            "small params, client (no Secret Key)",
            "Pässwörd with ﬁ ligature and 🙂",
            SMALL_KDF,
            None,
        ),
        ("default params, staff", "correct horse battery staple", password.DEFAULT_KDF, sk),
    ]
    argon, auth, wraps = [], [], []
    for i, (name, pw, params, secret_key) in enumerate(cases):
        mk = password.derive_master_key(pw, salt, params)
        keys = password.derive_from_master_key(mk, secret_key)
        kdf = {"alg": "argon2id", "m": params.m, "t": params.t, "p": params.p}
        argon.append(
            {
                "name": name,
                "password": pw,
                "password_nfkc_hex": h(password.normalize_password(pw)),
                "salt": h(salt),
                "kdf": kdf,
                "mk": h(mk),
            }
        )
        auth.append(
            {
                "name": name,
                "mk": h(mk),
                "secret_key": h(secret_key) if secret_key else None,
                "auth_key": keys.auth_key,
                "kek": h(keys.kek),
            }
        )
        uk = det(f"pw_wrap/uk/{i}")
        ver = i + 1
        blob = account.seal_pw_wrap(
            keys.kek,
            uk,
            user_id=user.user_id,
            salt=salt,
            params=params,
            ver=ver,
            rng=DetRng(f"pw_wrap/{i}"),
        )
        wraps.append(
            {
                "name": name,
                "password": pw,
                "secret_key": h(secret_key) if secret_key else None,
                "user_id": u(user.user_id),
                "salt": h(salt),
                "kdf": kdf,
                "ver": ver,
                "kek": h(keys.kek),
                "aad": h(account.pw_wrap_aad(user.user_id, salt, params, ver)),
                "uk": h(uk),
                "pw_wrap": h(blob),
            }
        )
    prelogin = [
        {
            "secret": h(det("server/prelogin-secret")),
            "email": email,
            "salt": h(password.prelogin_salt(det("server/prelogin-secret"), email)),
        }
        for email in ("theo@example.org", "unknown@example.org")
    ]
    sks = [det(f"sk/{i}", 16) for i in range(3)] + [bytes(16), b"\xff" * 16]
    sk_format = {
        "format": [{"secret_key": h(s), "display": password.format_secret_key(s)} for s in sks],
        "parse": [
            {"text": t, "secret_key": h(password.parse_secret_key(t))}
            for t in (
                password.format_secret_key(sks[0]),
                password.format_secret_key(sks[1]).lower(),
                password.format_secret_key(sks[2])[4:].replace("-", " "),
                password.format_secret_key(sks[0]).replace("-", ""),
            )
        ],
        "invalid": [
            "QR1-AAAAAA-AAAAA-AAAAA-AAAAA-AAAAB",  # non-zero unused low bits
            "QR1-AAAAAA-AAAAA-AAAAA-AAAAA-AAAA",  # too short
            "QR1-AAAAAA-AAAAA-AAAAA-AAAAA-AAAAAA",  # too long
            "QR2-AAAAAA-AAAAA-AAAAA-AAAAA-AAAAA",
            "QR1-AAAAA1-AAAAA-AAAAA-AAAAA-AAAAA",  # '1' is not base32
            "QR1_AAAAAA_AAAAA_AAAAA_AAAAA_AAAAA",
        ],
    }
    return {
        "argon2id": {"cases": argon},
        "authKey": {"cases": auth},
        "pw_wrap": {"cases": wraps},
        "prelogin_salt": {"cases": prelogin},
        "sk_format": sk_format,
    }


def section_bundle(world: World) -> Json:
    user = world.user("client")
    uk = det("bundle/uk")
    bundle = account.seal_bundle(uk, user.keys, user_id=user.user_id, ver=1, rng=DetRng("bundle"))
    bind = account.sign_aek_bind(
        user.keys.aik,
        user_id=user.user_id,
        aek_pub=user.keys.aek_pub,
        ver=1,
        created_at=user.joined,
    )
    return {
        "uk": h(uk),
        "user_id": u(user.user_id),
        "bundle_key": h(account.bundle_key(uk, user.user_id)),
        "local_key": {
            "device_id": u(det_uuid7("bundle/device", T0)),
            "key": h(account.local_key(uk, user.user_id, det_uuid7("bundle/device", T0))),
        },
        "aik_pkcs8": h(pkcs8_encode(user.keys.aik)),
        "aek_pkcs8": h(pkcs8_encode(user.keys.aek)),
        "aad_aik": h(pae(label("bundle"), I(user.user_id), T("aik"), B(user.keys.aik_pub), U(1))),
        "aad_aek": h(pae(label("bundle"), I(user.user_id), T("aek"), B(user.keys.aek_pub), U(1))),
        "envelope": envelope.encode_bundle(bundle),
        "aek_bind": {"message": h(bind.message()), "envelope": envelope.encode_aek_bind(bind)},
    }


def section_hpke(world: World) -> Json:
    cases = []
    for i, pt in enumerate([bytes(32), det("hpke/pt", 48), b""]):
        sk = x25519_from_seed(det(f"hpke/recipient/{i}"))
        info = pae(
            label("cek-wrap"),
            I(det_uuid7(f"hpke/{i}", T0)),
            B(kid("x25519", raw_public(sk))),
            B(det(f"hpke/root/{i}")),
        )
        sealer = DetHpke(f"section/{i}")
        ikm_e = DetRng(f"hpke/section/{i}")(32)
        ct = sealer(raw_public(sk), info, pt)
        cases.append(
            {
                "recipient_seed": h(det(f"hpke/recipient/{i}")),
                "recipient_pub": h(raw_public(sk)),
                "info": h(info),
                "aad": "",
                "pt": h(pt),
                "ikm_e": h(ikm_e),
                "ct": h(ct),
            }
        )
    return {
        "suite": {"kem": "0x0020", "kdf": "0x0001", "aead": "0x0002", "mode": 0},
        "note": (
            "ct = enc(32) || AEAD ciphertext; ephemeral = DeriveKeyPair(ikm_e). "
            "Open and compare pt; never compare seals."
        ),
        "cases": cases,
        "rfc9180": (
            "rfc9180-a1-1-base-x25519-sha256-aes128gcm.json "
            "(AES-128-GCM, for pyhpke and @hpke/core)"
        ),
    }


def section_wraps(world: World) -> dict[str, Json]:
    user = world.user("therapist")
    device_id = det_uuid7("device/therapist/laptop", T0 + 1000)
    dk_enc = x25519_from_seed(det("device/therapist/laptop/enc"))
    uk = det("dev_wrap/uk")
    wrap = devices.seal_dev_wrap(
        raw_public(dk_enc), uk, user_id=user.user_id, device_id=device_id, hpke=DetHpke("dev_wrap")
    )
    escrow = account.seal_rec_escrow(
        world.keys.prk_pub,
        user.keys.aek,
        practice_id=world.practice_id,
        user_id=user.user_id,
        hpke=DetHpke("rec_escrow"),
    )
    owner = world.user("owner")
    prsk_wrap = practice.seal_prsk_wrap(
        owner.keys.aek_pub,
        world.keys.prsk,
        practice_id=world.practice_id,
        admin_user_id=owner.user_id,
        hpke=DetHpke("prsk_wrap"),
    )
    return {
        "dev_wrap": {
            "user_id": u(user.user_id),
            "device_id": u(device_id),
            "dk_enc_seed": h(det("device/therapist/laptop/enc")),
            "dk_enc_pub": h(raw_public(dk_enc)),
            "info": h(
                devices.dev_wrap_info(user.user_id, device_id, kid("x25519", raw_public(dk_enc)))
            ),
            "uk": h(uk),
            "dev_wrap": h(wrap),
        },
        "rec_escrow": {
            "practice_id": u(world.practice_id),
            "user_id": u(user.user_id),
            "prk_seed": h(det("practice/prk")),
            "aek_id": h(user.keys.aek_id),
            "info": h(
                account.rec_escrow_info(
                    world.practice_id, user.user_id, user.keys.aek_id, world.keys.prk_id
                )
            ),
            "aek_pkcs8": h(pkcs8_encode(user.keys.aek)),
            "escrow": h(escrow),
        },
        "prsk_wrap": {
            "practice_id": u(world.practice_id),
            "admin_user_id": u(owner.user_id),
            "admin_aek_seed": h(owner.aek_seed),
            "prsk_pub": h(world.keys.prsk_pub),
            "info": h(
                practice.prsk_wrap_info(
                    world.practice_id, owner.user_id, owner.keys.aek_id, world.keys.prsk_id
                )
            ),
            "prsk_pkcs8": h(pkcs8_encode(world.keys.prsk)),
            "wrap": h(prsk_wrap),
        },
    }


def device_lists(world: World) -> tuple[list[devices.DeviceList], list[devices.DeviceEntry]]:
    user = world.user("client")
    entries = []
    for name, at in (("phone", T0 + 2000), ("laptop", T0 + 5000), ("tablet", T0 + 9000)):
        entries.append(
            devices.DeviceEntry(
                device_id=det_uuid7(f"device/client/{name}", at),
                dk_sig_pub=raw_public(ed25519_from_seed(det(f"device/client/{name}/sig"))),
                dk_enc_pub=raw_public(x25519_from_seed(det(f"device/client/{name}/enc"))),
                added_at=at,
            )
        )
    v1 = devices.sign_device_list(
        user.keys.aik,
        user_id=user.user_id,
        seq=1,
        prev_hash=bytes(32),
        created_at=T0 + 2000,
        entries=entries[:1],
    )
    v2 = devices.sign_device_list(
        user.keys.aik,
        user_id=user.user_id,
        seq=2,
        prev_hash=sha256(v1.message()),
        created_at=T0 + 5000,
        entries=entries[:2],
    )
    revoked = replace(entries[0], revoked_at=T0 + 9000)
    v3 = devices.sign_device_list(
        user.keys.aik,
        user_id=user.user_id,
        seq=3,
        prev_hash=sha256(v2.message()),
        created_at=T0 + 9000,
        entries=[revoked, entries[1], entries[2]],
    )
    return [v1, v2, v3], entries


def section_device_list(world: World) -> Json:
    lists, _ = device_lists(world)
    user = world.user("client")
    return {
        "user_id": u(user.user_id),
        "aik_pub": h(user.keys.aik_pub),
        "versions": [
            {
                "envelope": envelope.encode_device_list(dl),
                "message": h(dl.message()),
                "hash": h(sha256(dl.message())),
            }
            for dl in lists
        ],
        # A device that pinned version `pinned` accepts the versions from index `from` on: the
        # whole history (which contains the pin), or the versions right after the pin.
        "accepted": [
            {"pinned": i + 1, "from": start}
            for i in range(len(lists))
            for start in sorted({0, i, i + 1})
            if start < len(lists)
        ],
        "device_seeds": {
            name: {
                "sig": h(det(f"device/client/{name}/sig")),
                "enc": h(det(f"device/client/{name}/enc")),
            }
            for name in ("phone", "laptop", "tablet")
        },
    }


def configs(world: World) -> list[practice.PracticeConfig]:
    c2 = practice.sign_config(
        world.keys.prsk,
        practice_id=world.practice_id,
        seq=2,
        prev_hash=sha256(world.config.message()),
        prk_pub=raw_public(world.prk2),
        name="Quietroom Test Practice",
        policy=dict(world.config.policy),
    )
    return [world.config, c2]


def section_practice(world: World) -> dict[str, Json]:
    cfgs = configs(world)
    therapist = world.user("therapist")
    revocation = practice.revoke(
        world.keys.prsk,
        practice_id=world.practice_id,
        user_id=world.user("supervisor").user_id,
        aik_id=world.user("supervisor").keys.aik_id,
        revoked_at=T0 + 86_400_000,
        reason="left the practice",
    )
    return {
        "practice_config": {
            "practice_id": u(world.practice_id),
            "prsk_pub": h(world.keys.prsk_pub),
            "versions": [
                {
                    "envelope": envelope.encode_config(c),
                    "message": h(c.message()),
                    "hash": h(sha256(c.message())),
                }
                for c in cfgs
            ],
            "note": "version 2 rotates the PRK to world.prk_rotated_pub",
        },
        "sheet": {
            "practice_id": u(world.practice_id),
            "prk_seed": h(det("practice/prk")),
            "prsk_seed": h(det("practice/prsk")),
            "payload": world.keys.sheet_payload(),
            "prk_seed_groups": practice.seed_groups(det("practice/prk")),
            "prsk_seed_groups": practice.seed_groups(det("practice/prsk")),
        },
        "member_cert": {
            "practice_id": u(world.practice_id),
            "prsk_pub": h(world.keys.prsk_pub),
            "certs": [
                {
                    "issuer_kind": c.issuer_kind,
                    "subject": next(n for n, us in world.users.items() if us.user_id == c.user_id),
                    "message": h(c.message()),
                    "envelope": envelope.encode_cert(c),
                }
                for c in world.certs
            ],
            "revocation": {
                "message": h(revocation.message()),
                "envelope": envelope.encode_revocation(revocation),
            },
            "note": (
                "client certs are issued by the therapist's AIK (issuer_kind member); "
                "the rest by the PRSK"
            ),
            "issuer_of_member_certs": u(therapist.user_id),
        },
    }


def section_codes(world: World) -> dict[str, Json]:
    a, b = world.user("therapist"), world.user("client")
    fa = verification.user_fingerprint(a.keys.aik_pub, a.user_id)
    fb = verification.user_fingerprint(b.keys.aik_pub, b.user_id)
    number = verification.safety_number(a.keys.aik_pub, a.user_id, b.keys.aik_pub, b.user_id)
    t_key = x25519_from_seed(det("recovery/t"))
    return {
        "safety_number": {
            "cases": [
                {
                    "aik_pub_a": h(a.keys.aik_pub),
                    "user_id_a": u(a.user_id),
                    "aik_pub_b": h(b.keys.aik_pub),
                    "user_id_b": u(b.user_id),
                    "fp_a": fa,
                    "fp_b": fb,
                    "safety_number": number,
                    "groups": verification.groups(number),
                    "qr": verification.safety_number_qr(number),
                }
            ]
        },
        "practice_code": {
            "cases": [
                {
                    "prsk_pub": h(world.keys.prsk_pub),
                    "practice_id": u(world.practice_id),
                    "code": verification.practice_code(world.keys.prsk_pub, world.practice_id),
                },
            ],
            "recovery_transfer_code": [
                {
                    "t_pub": h(raw_public(t_key)),
                    "user_id": u(b.user_id),
                    "code": verification.recovery_transfer_code(raw_public(t_key), b.user_id),
                },
            ],
        },
    }


# -- items ---------------------------------------------------------------------------------------


class ItemFactory:
    def __init__(self, world: World) -> None:
        self.world = world

    def inline(
        self,
        name: str,
        payload: bytes,
        *,
        author: str,
        recipients: Sequence[str],
        item_type: str = "message",
        created_at: int = T0 + 10_000,
        chart: bool = True,
    ) -> items.SealedItem:
        w = self.world
        return items.seal_inline(
            payload,
            item_id=det_uuid7(f"item/{name}", created_at),
            practice_id=w.practice_id,
            item_type=item_type,
            author_user_id=w.user(author).user_id,
            author=w.user(author).keys,
            created_at=created_at,
            recipients=[
                items.RecipientKey(w.user(r).user_id, w.user(r).keys.aek_pub) for r in recipients
            ],
            prk_pub=w.keys.prk_pub,
            chart_id=det_uuid4("chart/client") if chart else NIL_UUID,
            thread_id=det_uuid4("thread/client") if item_type in {"message", "file"} else NIL_UUID,
            rng=DetRng(f"item/{name}"),
            hpke=DetHpke(f"item/{name}"),
        )


def item_case(
    name: str,
    revisions: Sequence[items.Item],
    cek: bytes,
    readers: Sequence[str],
    payload: bytes,
    *,
    wraps: Sequence[items.Wrap] | None = None,
    grants: Sequence[items.Grant] = (),
    blob: bytes | None = None,
) -> Json:
    root = revisions[0].hdr
    return {
        "name": name,
        "revisions": [envelope.encode_item(r) for r in revisions],
        "wraps": None if wraps is None else [envelope.encode_wrap(x) for x in wraps],
        "grants": [envelope.encode_grant(g) for g in grants],
        "blob": None if blob is None else h(blob),
        "expect": {
            "h": [h(r.hdr.hash()) for r in revisions],
            "root_h": h(root.hash()),
            "cek": h(cek),
            "cek_commit": h(items.cek_commit(cek, root.item_id)),
            "body_key": h(items.body_key(cek, root.item_id)),
            "payload": h(payload),
            "readers": list(readers),
        },
    }


class ItemVectors:
    """Positive item vectors plus the building blocks the negative vectors mutate."""

    def __init__(self, world: World) -> None:
        self.world = world
        f = ItemFactory(world)
        w = world
        self.msg_payload = items.pad_payload(
            json.dumps({"text": "See you Thursday at 10."}).encode()
        )
        self.msg = f.inline(
            "message", self.msg_payload, author="therapist", recipients=["client", "therapist"]
        )
        self.other = f.inline(
            "other",
            b'{"text":"another item"}',
            author="therapist",
            recipients=["client", "therapist"],
            created_at=T0 + 11_000,
        )
        # A progress note with two amendments by its author.
        self.note_payloads = [
            b'{"status":"draft","text":"Session 1."}',
            b'{"status":"signed","text":"Session 1, reviewed."}',
            b'{"status":"signed","text":"Session 1, reviewed.","amendment":"date corrected"}',
        ]
        note0 = f.inline(
            "note",
            self.note_payloads[0],
            author="therapist",
            recipients=["therapist", "supervisor"],
            item_type="note",
            created_at=T0 + 20_000,
        )
        self.note_cek = note0.cek
        self.note = [note0.item]
        for i, text in enumerate(self.note_payloads[1:], start=1):
            self.note.append(
                items.revise_inline(
                    self.note[-1],
                    note0.cek,
                    text,
                    reviser_user_id=w.user("therapist").user_id,
                    reviser=w.user("therapist").keys,
                    created_at=T0 + 20_000 + i * 1000,
                    rng=DetRng(f"item/note/rev{i}"),
                )
            )
        # The note shared with the client through a grant (§7.9).
        self.grant = items.make_grant(
            note0.cek,
            item_id=note0.item.hdr.item_id,
            root_h=note0.item.hdr.hash(),
            grantee_user_id=w.user("client").user_id,
            grantee_aek_pub=w.user("client").keys.aek_pub,
            granted_at=T0 + 30_000,
            granter_user_id=w.user("therapist").user_id,
            granter=w.user("therapist").keys,
            hpke=DetHpke("grant"),
        )
        # The message read by its therapist after they left the care team (their wrap deleted)
        # and came back: through the client's grant (§7.9).
        self.regrant = items.make_grant(
            self.msg.cek,
            item_id=self.msg.item.hdr.item_id,
            root_h=self.msg.item.hdr.hash(),
            grantee_user_id=w.user("therapist").user_id,
            grantee_aek_pub=w.user("therapist").keys.aek_pub,
            granted_at=T0 + 31_000,
            granter_user_id=w.user("client").user_id,
            granter=w.user("client").keys,
            hpke=DetHpke("regrant"),
        )
        therapist_id = w.user("therapist").user_id
        self.wraps_without_therapist = [
            x for x in self.msg.item.wraps if not (x.kind == "user" and x.id == therapist_id)
        ]
        # A small file as a stream body with its metadata prefix (§8).
        meta = json.dumps(
            {"name": "worksheet.txt", "mime": "text/plain", "size": 64}, separators=(",", ":")
        ).encode()
        self.file_payload = stream.file_prefix(meta) + stream.pattern(64)
        sink = io.BytesIO()
        self.file = items.seal_stream(
            io.BytesIO(self.file_payload),
            sink,
            size=len(self.file_payload),
            blob_id=det_uuid4("blob/file"),
            item_id=det_uuid7("item/file", T0 + 40_000),
            practice_id=w.practice_id,
            item_type="file",
            author_user_id=w.user("client").user_id,
            author=w.user("client").keys,
            created_at=T0 + 40_000,
            recipients=[
                items.RecipientKey(w.user(r).user_id, w.user(r).keys.aek_pub)
                for r in ("client", "therapist")
            ],
            prk_pub=w.keys.prk_pub,
            chart_id=det_uuid4("chart/client"),
            thread_id=det_uuid4("thread/client"),
            rng=DetRng("item/file"),
            hpke=DetHpke("item/file"),
        )
        self.file_blob = sink.getvalue()
        # After a PRK rotation the offline tool re-wraps the PRK wrap to the new PRK (§10.3).
        root_h = self.msg.item.hdr.hash()
        self.rotated_wraps = [x for x in self.msg.item.wraps if x.kind != "prk"] + [
            items.rewrap(
                self.msg.cek,
                item_id=self.msg.item.hdr.item_id,
                root_h=root_h,
                kind="prk",
                principal_id=w.practice_id,
                new_pub=raw_public(w.prk2),
                hpke=DetHpke("rotated"),
            )
        ]

    def section(self) -> Json:
        return {
            "cases": [
                item_case(
                    "message_inline",
                    [self.msg.item],
                    self.msg.cek,
                    ["client", "therapist", "prk"],
                    self.msg_payload,
                ),
                item_case(
                    "note_revisions",
                    self.note,
                    self.note_cek,
                    ["therapist", "supervisor", "prk"],
                    self.note_payloads[-1],
                ),
                item_case(
                    "note_granted_to_client",
                    self.note[:1],
                    self.note_cek,
                    ["client"],
                    self.note_payloads[0],
                    grants=[self.grant],
                ),
                item_case(
                    "message_regranted_to_returning_recipient",
                    [self.msg.item],
                    self.msg.cek,
                    ["therapist", "client"],
                    self.msg_payload,
                    wraps=self.wraps_without_therapist,
                    grants=[self.regrant],
                ),
                item_case(
                    "file_stream",
                    [self.file.item],
                    self.file.cek,
                    ["client", "therapist", "prk"],
                    self.file_payload,
                    blob=self.file_blob,
                ),
                item_case(
                    "prk_rotated_wrap",
                    [self.msg.item],
                    self.msg.cek,
                    ["prk"],
                    self.msg_payload,
                    wraps=self.rotated_wraps,
                ),
            ],
            "note": (
                "open every revision list with each reader; "
                "'payload' is the newest revision's plaintext"
            ),
        }


def section_stream() -> Json:
    cases = []
    for size in STREAM_SIZES:
        rng = DetRng(f"stream/{size}")
        cek, aad = rng(32), rng(32)
        salt_rng = DetRng(f"stream/{size}/header")
        salt, prefix = salt_rng(32), salt_rng(7)
        ct = stream.encrypt_bytes(
            cek, aad, stream.pattern(size), rng=vector_runner.fixed_rng(salt, prefix)
        )
        case: Json = {
            "size": size,
            "cek": h(cek),
            "aad": h(aad),
            "salt": h(salt),
            "nonce_prefix": h(prefix),
            "segments": stream.segment_count(size),
            "ct_len": len(ct),
            "ct_sha256": h(sha256(ct)),
        }
        if size <= 1:
            case["ct"] = h(ct)
        cases.append(case)
    return {
        "segment_size": stream.SEGMENT_SIZE,
        "plaintext": "pattern: byte[i] = i mod 251",
        "cases": cases,
    }


def section_webrtc(world: World) -> Json:
    lists, _ = device_lists(world)
    user = world.user("client")
    dk_sig = ed25519_from_seed(det("device/client/laptop/sig"))
    device_id = lists[-1].entries[1].device_id
    fingerprint = det("webrtc/cert-fingerprint")
    st = webrtc.sign_statement(
        dk_sig,
        call_id=det_uuid4("call/1"),
        role="answerer",
        user_id=user.user_id,
        device_id=device_id,
        fingerprint=fingerprint,
    )
    sdp = (
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
        f"a=fingerprint:sha-256 {webrtc.format_fingerprint(fingerprint)}\r\n"
    )
    return {
        "statement": envelope.encode_fingerprint(st),
        "message": h(st.message()),
        "dk_sig_pub": h(raw_public(dk_sig)),
        "device_list": envelope.encode_device_list(lists[-1]),
        "sdp": sdp,
        "call_id": u(det_uuid4("call/1")),
        "role": "answerer",
        "peer_user_id": u(user.user_id),
    }


def section_turn() -> Json:
    secret = det("turn/secret")
    creds = turn.turn_credentials(
        secret, ("turns:turn.example.org:5349",), now=1767225600, rng=DetRng("turn")
    )
    return {
        "secret": h(secret),
        "now": 1767225600,
        "ttl": creds.ttl,
        "username": creds.username,
        "credential": creds.credential,
    }


def section_recovery(world: World) -> Json:
    user = world.user("client")
    t_key = x25519_from_seed(det("recovery/t"))
    escrow = account.seal_rec_escrow(
        world.keys.prk_pub,
        user.keys.aek,
        practice_id=world.practice_id,
        user_id=user.user_id,
        hpke=DetHpke("recovery/escrow"),
    )
    transfer = recovery.recover_to_device(
        world.keys.prk,
        escrow,
        practice_id=world.practice_id,
        user_id=user.user_id,
        aek_id=user.keys.aek_id,
        t_pub=raw_public(t_key),
        hpke=DetHpke("recovery/transfer"),
    )
    owner = world.user("owner")
    t_id = kid("x25519", raw_public(t_key))
    record = recovery.sign_record(
        owner.keys.aik,
        practice_id=world.practice_id,
        user_id=user.user_id,
        t_id=t_id,
        aek_id=user.keys.aek_id,
        at=T0 + 50_000,
        method="video call",
    )
    return {
        "practice_id": u(world.practice_id),
        "user_id": u(user.user_id),
        "t_seed": h(det("recovery/t")),
        "t_pub": h(raw_public(t_key)),
        "aek_id": h(user.keys.aek_id),
        "escrow": h(escrow),
        "transfer_info": h(
            recovery.transfer_info(world.practice_id, user.user_id, t_id, user.keys.aek_id)
        ),
        "transfer": h(transfer),
        "record": {
            "admin_aik_pub": h(owner.keys.aik_pub),
            "at": T0 + 50_000,
            "method": "video call",
            "message": h(
                recovery.record_message(
                    world.practice_id,
                    user.user_id,
                    t_id=t_id,
                    aek_id=user.keys.aek_id,
                    at=T0 + 50_000,
                    method="video call",
                )
            ),
            "sig": h(record),
        },
    }


# -- negative vectors ----------------------------------------------------------------------------


def _flip_b64(value: str, bit: int = 0) -> str:
    raw = bytearray(b64url_decode(value))
    raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
    return b64url_encode(bytes(raw))


def _flip_uuid(value: str) -> str:
    raw = bytearray(uuid.UUID(value).bytes)
    raw[15] ^= 1
    return str(uuid.UUID(bytes=bytes(raw)))


class Negatives:
    def __init__(self, world: World, iv: ItemVectors) -> None:
        self.world = world
        self.iv = iv
        self.out: list[Json] = []
        self.checker: Callable[[Json], str] | None = None

    def add(self, name: str, op: str, input_: Json, error: str) -> None:
        self.out.append({"name": name, "op": op, "input": input_, "error": error})

    def item(
        self, name: str, revisions: list[Json], error: str, *, reader: str = "client", **extra: Any
    ) -> None:
        data: Json = {
            "revisions": revisions,
            "reader": reader,
            "wraps": None,
            "grants": [],
            "blob": None,
        }
        data.update(extra)
        self.add(name, "item_open", data, error)

    def build(self) -> list[Json]:
        self.item_negatives()
        self.revision_negatives()
        self.grant_negatives()
        self.encoding_negatives()
        self.account_negatives()
        self.device_negatives()
        self.practice_negatives()
        self.stream_negatives()
        self.webrtc_negatives()
        return self.out

    def _base(self) -> Json:
        return envelope.encode_item(self.iv.msg.item)

    def _mutated(self, fn: Callable[[Json], None]) -> list[Json]:
        env = self._base()
        fn(env)
        return [env]

    def item_negatives(self) -> None:
        self.header_negatives()
        self.wrap_negatives()
        self.author_negatives()

    def header_negatives(self) -> None:
        mutated = self._mutated

        self.item(
            "unknown suite", mutated(lambda e: e["hdr"].__setitem__("suite", "qr2")), "E_SUITE"
        )
        self.item(
            "unknown header field", mutated(lambda e: e["hdr"].__setitem__("note", "x")), "E_SCHEMA"
        )
        self.item("missing header field", mutated(lambda e: e["hdr"].pop("thread_id")), "E_SCHEMA")
        self.item(
            "unknown item type",
            mutated(lambda e: e["hdr"].__setitem__("type", "call-key")),
            "E_SCHEMA",
        )
        self.item(
            "recipients not sorted", mutated(lambda e: e["hdr"]["recipients"].reverse()), "E_SCHEMA"
        )
        self.item(
            "no prk recipient",
            mutated(
                lambda e: e["hdr"].__setitem__(
                    "recipients", [r for r in e["hdr"]["recipients"] if r["kind"] != "prk"]
                )
            ),
            "E_SCHEMA",
        )
        self.item(
            "padded base64url signature",
            mutated(lambda e: e.__setitem__("sig", e["sig"] + "==")),
            "E_ENCODING",
        )
        self.item(
            "uppercase uuid",
            mutated(lambda e: e["hdr"].__setitem__("item_id", e["hdr"]["item_id"].upper())),
            "E_ENCODING",
        )
        self.item(
            "integer above 2^53-1",
            mutated(lambda e: e["hdr"].__setitem__("created_at", 2**53)),
            "E_ENCODING",
        )
        self.item(
            "other practice",
            mutated(
                lambda e: e["hdr"].__setitem__("practice_id", _flip_uuid(e["hdr"]["practice_id"]))
            ),
            "E_CERT",
        )
        # A flipped bit in every header field, re-encoded canonically, fails at the first check
        # that covers that field (§7.6 order).
        for field, error in (
            ("item_id", "E_SIG"),
            ("chart_id", "E_SIG"),
            ("thread_id", "E_SIG"),
            ("author_user_id", "E_CERT"),
        ):
            env = self._base()
            env["hdr"][field] = _flip_uuid(env["hdr"][field])
            self.item(f"flipped bit in hdr.{field}", [env], error)
        self.item(
            "flipped bit in hdr.author_aik_id",
            mutated(
                lambda e: e["hdr"].__setitem__(
                    "author_aik_id", _flip_b64(e["hdr"]["author_aik_id"])
                )
            ),
            "E_CERT",
        )
        self.item(
            "flipped bit in hdr.cek_commit",
            mutated(
                lambda e: e["hdr"].__setitem__("cek_commit", _flip_b64(e["hdr"]["cek_commit"]))
            ),
            "E_SIG",
        )
        self.item(
            "flipped bit in hdr.created_at",
            mutated(lambda e: e["hdr"].__setitem__("created_at", e["hdr"]["created_at"] ^ 1)),
            "E_SIG",
        )
        self.item(
            "changed hdr.type", mutated(lambda e: e["hdr"].__setitem__("type", "note")), "E_SIG"
        )
        self.item(
            "flipped bit in hdr.body.size",
            mutated(lambda e: e["hdr"]["body"].__setitem__("size", e["hdr"]["body"]["size"] ^ 1)),
            "E_SIG",
        )
        self.item(
            "flipped bit in a recipient key_id",
            mutated(
                lambda e: e["hdr"]["recipients"][0].__setitem__(
                    "key_id", _flip_b64(e["hdr"]["recipients"][0]["key_id"])
                )
            ),
            "E_SIG",
        )
        self.item(
            "flipped bit in body.ct",
            mutated(lambda e: e["body"].__setitem__("ct", _flip_b64(e["body"]["ct"], 100))),
            "E_SIG",
        )
        self.item(
            "flipped bit in sig",
            mutated(lambda e: e.__setitem__("sig", _flip_b64(e["sig"], 7))),
            "E_SIG",
        )

    def wrap_negatives(self) -> None:
        w, iv, mutated, base = self.world, self.iv, self._mutated, self._base()
        client_wrap = next(
            i for i, x in enumerate(base["wraps"]) if x["id"] == u(w.user("client").user_id)
        )
        prk_wrap = next(i for i, x in enumerate(base["wraps"]) if x["kind"] == "prk")
        self.item(
            "flipped bit in the reader's wrap",
            mutated(
                lambda e: e["wraps"][client_wrap].__setitem__(
                    "ct", _flip_b64(e["wraps"][client_wrap]["ct"], 300)
                )
            ),
            "E_WRAP",
        )
        self.item(
            "flipped bit in the reader's wrap enc",
            mutated(
                lambda e: e["wraps"][client_wrap].__setitem__(
                    "ct", _flip_b64(e["wraps"][client_wrap]["ct"], 3)
                )
            ),
            "E_WRAP",
        )
        self.item(
            "flipped bit in the prk wrap",
            mutated(
                lambda e: e["wraps"][prk_wrap].__setitem__(
                    "ct", _flip_b64(e["wraps"][prk_wrap]["ct"], 300)
                )
            ),
            "E_WRAP",
            reader="prk",
        )
        self.item(
            "flipped bit in the reader's wrap key_id",
            mutated(
                lambda e: e["wraps"][client_wrap].__setitem__(
                    "key_id", _flip_b64(e["wraps"][client_wrap]["key_id"])
                )
            ),
            "E_WRAP",
        )
        # Swapped wraps: from another item (its info names another item and root_h) ...
        other = envelope.encode_item(iv.other.item)
        other_client = next(x for x in other["wraps"] if x["id"] == u(w.user("client").user_id))
        self.item(
            "swapped wrap from another item",
            mutated(lambda e: e["wraps"].__setitem__(client_wrap, other_client)),
            "E_WRAP",
        )
        # ... the therapist's wrap offered to the client ...
        therapist_wrap = next(x for x in base["wraps"] if x["id"] == u(w.user("therapist").user_id))
        self.item(
            "swapped wrap between recipients",
            mutated(
                lambda e: e["wraps"].__setitem__(
                    client_wrap, {**therapist_wrap, "id": u(w.user("client").user_id)}
                )
            ),
            "E_WRAP",
        )
        # ... and a well-formed wrap of another CEK with the right info: only the key commitment
        # catches this one, since anyone can seal to the reader's public key.
        root_h = iv.msg.item.hdr.hash()
        client = w.user("client")
        forged = DetHpke("forged")(
            client.keys.aek_pub,
            items.wrap_info(iv.msg.item.hdr.item_id, client.keys.aek_id, root_h),
            det("forged/cek"),
        )
        self.item(
            "wrap of another CEK with the right info",
            mutated(lambda e: e["wraps"][client_wrap].__setitem__("ct", b64url_encode(forged))),
            "E_COMMIT",
        )

    def author_negatives(self) -> None:
        w, iv, base = self.world, self.iv, self._base()
        client = w.user("client")
        self.item("reader not a recipient", [base], "E_NOT_RECIPIENT", reader="other_client")
        self.item(
            "author's AIK pin changed",
            [base],
            "E_PIN_CHANGED",
            pins={u(w.user("therapist").user_id): [h(det("some/other/aik", 16))]},
        )
        revoked = practice.revoke(
            w.keys.prsk,
            practice_id=w.practice_id,
            user_id=w.user("therapist").user_id,
            aik_id=w.user("therapist").keys.aik_id,
            revoked_at=T0 + 5000,
            reason="compromised",
        )
        self.item(
            "author revoked before created_at",
            [base],
            "E_CERT",
            revocations=[envelope.encode_revocation(revoked)],
        )
        foreign = practice.issue_cert(
            ed25519_from_seed(det("other-practice/prsk")),
            issuer_kind="prsk",
            practice_id=det_uuid4("other-practice"),
            user_id=w.user("therapist").user_id,
            role="therapist",
            aik_pub=w.user("therapist").keys.aik_pub,
            valid_from=T0,
            reason="enrolled",
        )
        certs_without = [
            envelope.encode_cert(c) for c in w.certs if c.user_id != w.user("therapist").user_id
        ]
        self.item(
            "author certified by another practice",
            [base],
            "E_CERT",
            certs=[*certs_without, envelope.encode_cert(foreign)],
        )
        # A malicious author signs a body that does not decrypt.
        bad = items.seal_inline(
            b"x",
            item_id=det_uuid7("item/bad-body", T0 + 12_000),
            practice_id=w.practice_id,
            item_type="message",
            author_user_id=w.user("therapist").user_id,
            author=w.user("therapist").keys,
            created_at=T0 + 12_000,
            recipients=[items.RecipientKey(client.user_id, client.keys.aek_pub)],
            prk_pub=w.keys.prk_pub,
            rng=DetRng("item/bad-body"),
            hpke=DetHpke("item/bad-body"),
        )
        bad_ct = bytearray(bad.item.body_ct or b"")
        bad_ct[-1] ^= 1
        resigned = replace(
            bad.item,
            body_ct=bytes(bad_ct),
            sig=sign(
                w.user("therapist").keys.aik,
                items.sig_message(bad.item.hdr.hash(), sha256(bytes(bad_ct))),
            ),
        )
        self.item("signed body that does not decrypt", [envelope.encode_item(resigned)], "E_BODY")
        # A stream item whose blob was cut, reordered or extended is caught by the signature.
        self.item(
            "stream blob truncated",
            [envelope.encode_item(iv.file.item)],
            "E_SIG",
            blob=h(iv.file_blob[:-1]),
        )

    def revision_negatives(self) -> None:
        w, iv = self.world, self.iv
        therapist = w.user("therapist")
        revs = [envelope.encode_item(r) for r in iv.note]
        self.item("revision gap", [revs[0], revs[2]], "E_CHAIN", reader="therapist")
        self.item(
            "revision flipped prev_rev_hash",
            [
                revs[0],
                {
                    **revs[1],
                    "hdr": {
                        **revs[1]["hdr"],
                        "prev_rev_hash": _flip_b64(revs[1]["hdr"]["prev_rev_hash"]),
                    },
                },
            ],
            "E_SIG",
            reader="therapist",
        )

        def resign(hdr: items.Header, payload: bytes, name: str) -> Json:
            body_ct = aead_seal(
                items.body_key(iv.note_cek, hdr.item_id), payload, hdr.hash(), rng=DetRng(name)
            )
            sig = sign(therapist.keys.aik, items.sig_message(hdr.hash(), sha256(body_ct)))
            return envelope.encode_item(items.Item(hdr=hdr, sig=sig, body_ct=body_ct))

        rev1 = iv.note[1].hdr
        wrong_prev = replace(rev1, prev_rev_hash=det("wrong/prev"))
        self.item(
            "signed revision with the wrong prev_rev_hash",
            [revs[0], resign(wrong_prev, b"{}", "neg/rev1")],
            "E_CHAIN",
            reader="therapist",
        )
        more = items.sort_recipients(
            [
                *rev1.recipients,
                items.Recipient("user", w.user("client").user_id, w.user("client").keys.aek_id),
            ]
        )
        self.item(
            "signed revision that adds a recipient",
            [
                revs[0],
                resign(
                    replace(rev1, recipients=more, body=items.BodyInfo("inline", 2, 0)),
                    b"{}",
                    "neg/rev1b",
                ),
            ],
            "E_CHAIN",
            reader="therapist",
        )
        self.item(
            "signed revision that changes the type",
            [
                revs[0],
                resign(
                    replace(rev1, type="psychotherapy-note", body=items.BodyInfo("inline", 2, 0)),
                    b"{}",
                    "neg/rev1c",
                ),
            ],
            "E_CHAIN",
            reader="therapist",
        )

    def grant_negatives(self) -> None:
        w, iv = self.world, self.iv
        note0 = envelope.encode_item(iv.note[0])
        grant = envelope.encode_grant(iv.grant)
        self.item(
            "grant with a flipped signature",
            [note0],
            "E_SIG",
            grants=[{**grant, "sig": _flip_b64(grant["sig"])}],
        )
        self.item(
            "grant for another grantee",
            [note0],
            "E_NOT_RECIPIENT",
            reader="other_client",
            grants=[grant],
        )
        by_client = items.make_grant(
            iv.note_cek,
            item_id=iv.note[0].hdr.item_id,
            root_h=iv.note[0].hdr.hash(),
            grantee_user_id=w.user("other_client").user_id,
            grantee_aek_pub=w.user("other_client").keys.aek_pub,
            granted_at=T0 + 31_000,
            granter_user_id=w.user("client").user_id,
            granter=w.user("client").keys,
            hpke=DetHpke("neg/grant"),
        )
        self.item(
            "grant by someone who was never a recipient",
            [note0],
            "E_NOT_RECIPIENT",
            reader="other_client",
            grants=[envelope.encode_grant(by_client)],
        )

    def encoding_negatives(self) -> None:
        for text in section_b64url()["invalid"]:
            self.add(f"base64url {text!r}", "b64url_decode", {"text": text}, "E_ENCODING")
        for text in section_uuid()["invalid"]:
            self.add(f"uuid {text!r}", "uuid_parse", {"text": text}, "E_ENCODING")
        good = pkcs8_encode(x25519_from_seed(det("keys/x25519/a")))
        self.add(
            "pkcs8 with an Ed25519 prefix read as X25519",
            "pkcs8_decode",
            {"alg": "x25519", "der": h(pkcs8_encode(ed25519_from_seed(det("keys/ed25519/a"))))},
            "E_ENCODING",
        )
        self.add(
            "pkcs8 one byte short",
            "pkcs8_decode",
            {"alg": "x25519", "der": h(good[:-1])},
            "E_ENCODING",
        )
        self.add(
            "pkcs8 one byte long",
            "pkcs8_decode",
            {"alg": "x25519", "der": h(good + b"\x00")},
            "E_ENCODING",
        )
        for text in section_password(self.world)["sk_format"]["invalid"]:
            self.add(f"secret key {text!r}", "sk_parse", {"text": text}, "E_ENCODING")
        base = dumps_json(envelope.encode_item(self.iv.msg.item))
        self.add(
            "envelope: duplicate key",
            "envelope_decode",
            {"kind": "item", "text": base[:-1] + ',"sig":"AA"}'},
            "E_SCHEMA",
        )
        self.add(
            "envelope: float",
            "envelope_decode",
            {"kind": "item", "text": base.replace('"revision":0', '"revision":0.0')},
            "E_ENCODING",
        )
        self.add(
            "envelope: NaN",
            "envelope_decode",
            {"kind": "item", "text": base.replace('"revision":0', '"revision":NaN')},
            "E_ENCODING",
        )
        self.add(
            "envelope: boolean integer",
            "envelope_decode",
            {"kind": "item", "text": base.replace('"revision":0', '"revision":false')},
            "E_SCHEMA",
        )
        self.add(
            "envelope: not JSON", "envelope_decode", {"kind": "item", "text": base[:-1]}, "E_SCHEMA"
        )
        self.add(
            "envelope: array at top level",
            "envelope_decode",
            {"kind": "item", "text": "[]"},
            "E_SCHEMA",
        )
        self.add(
            "envelope: inline body given as blob",
            "envelope_decode",
            {"kind": "item", "text": base.replace('"body":{"ct"', '"body":{"blob_id"')},
            "E_SCHEMA",
        )
        self.add(
            "envelope: device list of an unknown suite",
            "envelope_decode",
            {
                "kind": "device_list",
                "text": dumps_json(
                    {**envelope.encode_device_list(device_lists(self.world)[0][0]), "suite": "qr1p"}
                ),
            },
            "E_SUITE",
        )
        self.add(
            "envelope: invalid UTF-8",
            "envelope_decode_hex",
            {"kind": "item", "hex": h(b'{"hdr":"\xff"}')},
            "E_ENCODING",
        )

    def account_negatives(self) -> None:
        w = self.world
        pw = section_password(w)["pw_wrap"]["cases"][0]
        self.add(
            "pw_wrap: wrong password",
            "pw_wrap_unlock",
            {**pw, "password": pw["password"] + "!"},
            "E_UNLOCK",
        )
        self.add(
            "pw_wrap: wrong Secret Key",
            "pw_wrap_unlock",
            {**pw, "secret_key": h(det("wrong/sk", 16))},
            "E_UNLOCK",
        )
        for name, kdf in (
            ("m below 32768", {"alg": "argon2id", "m": 16384, "t": 3, "p": 1}),
            ("t below 3", {"alg": "argon2id", "m": 65536, "t": 2, "p": 1}),
            ("p not 1", {"alg": "argon2id", "m": 65536, "t": 3, "p": 4}),
            ("m above 1 GiB", {"alg": "argon2id", "m": 2097152, "t": 3, "p": 1}),
            ("t above 10", {"alg": "argon2id", "m": 65536, "t": 11, "p": 1}),
        ):
            self.add(f"kdf params: {name}", "pw_wrap_unlock", {**pw, "kdf": kdf}, "E_KDF_PARAMS")
        self.add(
            "pw_wrap: other ver in aad",
            "pw_wrap_open_kek",
            {**pw, "ver": pw["ver"] + 1},
            "E_UNLOCK",
        )
        self.add(
            "pw_wrap: other user in aad",
            "pw_wrap_open_kek",
            {**pw, "user_id": u(w.user("client").user_id)},
            "E_UNLOCK",
        )
        self.add(
            "pw_wrap: flipped bit",
            "pw_wrap_open_kek",
            {**pw, "pw_wrap": h(_flip_bytes(bytes.fromhex(pw["pw_wrap"]), 40))},
            "E_UNLOCK",
        )
        bundle = section_bundle(w)
        self.add(
            "bundle: flipped bit in aek",
            "bundle_open",
            {
                "uk": bundle["uk"],
                "envelope": {
                    **bundle["envelope"],
                    "aek": _flip_b64(bundle["envelope"]["aek"], 200),
                },
            },
            "E_UNLOCK",
        )
        self.add(
            "bundle: aik and aek swapped",
            "bundle_open",
            {
                "uk": bundle["uk"],
                "envelope": {
                    **bundle["envelope"],
                    "aek": bundle["envelope"]["aik"],
                    "aik": bundle["envelope"]["aek"],
                },
            },
            "E_UNLOCK",
        )
        self.add(
            "bundle: wrong UK",
            "bundle_open",
            {"uk": h(det("wrong/uk")), "envelope": bundle["envelope"]},
            "E_UNLOCK",
        )
        self.add(
            "aek_bind: flipped signature",
            "aek_bind_verify",
            {
                "aik_pub": h(w.user("client").keys.aik_pub),
                "envelope": {
                    **bundle["aek_bind"]["envelope"],
                    "sig": _flip_b64(bundle["aek_bind"]["envelope"]["sig"]),
                },
            },
            "E_SIG",
        )
        self.add(
            "aek_bind: newer ver under another AIK",
            "aek_bind_verify",
            {
                "aik_pub": h(w.user("therapist").keys.aik_pub),
                "envelope": bundle["aek_bind"]["envelope"],
            },
            "E_SIG",
        )
        wraps = section_wraps(w)
        dw = wraps["dev_wrap"]
        self.add(
            "dev_wrap: another device id",
            "dev_wrap_open",
            {**dw, "device_id": u(det_uuid7("other-device", T0))},
            "E_WRAP",
        )
        self.add(
            "dev_wrap: flipped bit",
            "dev_wrap_open",
            {**dw, "dev_wrap": h(_flip_bytes(bytes.fromhex(dw["dev_wrap"]), 500))},
            "E_WRAP",
        )
        re = wraps["rec_escrow"]
        self.add(
            "rec_escrow: another user id",
            "rec_escrow_open",
            {**re, "user_id": u(w.user("client").user_id)},
            "E_WRAP",
        )
        self.add(
            "rec_escrow: opened with the rotated PRK",
            "rec_escrow_open",
            {**re, "prk_seed": h(w.prk2_seed)},
            "E_WRAP",
        )

    def device_negatives(self) -> None:
        w = self.world
        lists, entries = device_lists(w)
        user = w.user("client")
        enc = [envelope.encode_device_list(dl) for dl in lists]

        def head(dl: devices.DeviceList) -> Json:
            return {"seq": dl.seq, "hash": h(sha256(dl.message()))}

        common = {"user_id": u(user.user_id), "aik_pubs": [h(user.keys.aik_pub)]}
        self.add(
            "device list: stale (lower seq than pinned)",
            "device_list_accept",
            {**common, "pinned": head(lists[2]), "versions": [enc[1]]},
            "E_ROLLBACK",
        )
        self.add(
            "device list: rolled back to seq 1",
            "device_list_accept",
            {**common, "pinned": head(lists[1]), "versions": [enc[0]]},
            "E_ROLLBACK",
        )
        fork = devices.sign_device_list(
            user.keys.aik,
            user_id=user.user_id,
            seq=2,
            prev_hash=sha256(lists[0].message()),
            created_at=T0 + 5001,
            entries=entries[:2],
        )
        self.add(
            "device list: forked (same seq, other content)",
            "device_list_accept",
            {**common, "pinned": head(lists[1]), "versions": [envelope.encode_device_list(fork)]},
            "E_CHAIN",
        )
        self.add(
            "device list: jump without the intermediate version",
            "device_list_accept",
            {**common, "pinned": head(lists[0]), "versions": [enc[2]]},
            "E_CHAIN",
        )
        self.add(
            "device list: flipped bit in an entry key",
            "device_list_accept",
            {
                **common,
                "pinned": head(lists[1]),
                "versions": [
                    {
                        **enc[2],
                        "entries": [
                            enc[2]["entries"][0],
                            {
                                **enc[2]["entries"][1],
                                "dk_sig_pub": _flip_b64(enc[2]["entries"][1]["dk_sig_pub"]),
                            },
                            enc[2]["entries"][2],
                        ],
                    }
                ],
            },
            "E_SIG",
        )
        self.add(
            "device list: flipped signature",
            "device_list_accept",
            {**common, "pinned": None, "versions": [{**enc[0], "sig": _flip_b64(enc[0]["sig"])}]},
            "E_SIG",
        )
        self.add(
            "device list: signed by another user's AIK",
            "device_list_accept",
            {
                **common,
                "aik_pubs": [h(w.user("therapist").keys.aik_pub)],
                "pinned": None,
                "versions": [enc[0]],
            },
            "E_SIG",
        )
        removed = devices.sign_device_list(
            user.keys.aik,
            user_id=user.user_id,
            seq=3,
            prev_hash=sha256(lists[1].message()),
            created_at=T0 + 9000,
            entries=[entries[1]],
        )
        self.add(
            "device list: entry removed",
            "device_list_accept",
            {
                **common,
                "pinned": head(lists[1]),
                "versions": [enc[1], envelope.encode_device_list(removed)],
            },
            "E_CHAIN",
        )
        unrevoked = devices.sign_device_list(
            user.keys.aik,
            user_id=user.user_id,
            seq=4,
            prev_hash=sha256(lists[2].message()),
            created_at=T0 + 9500,
            entries=entries,
        )
        self.add(
            "device list: revoked entry un-revoked",
            "device_list_accept",
            {
                **common,
                "pinned": head(lists[2]),
                "versions": [enc[2], envelope.encode_device_list(unrevoked)],
            },
            "E_CHAIN",
        )
        injected = devices.DeviceEntry(
            det_uuid7("device/injected", T0 + 9600),
            raw_public(ed25519_from_seed(det("inj/sig"))),
            raw_public(x25519_from_seed(det("inj/enc"))),
            T0 + 9600,
        )
        server_list = replace(
            lists[2],
            seq=4,
            prev_hash=sha256(lists[2].message()),
            entries=tuple(sorted([*lists[2].entries, injected], key=lambda e: e.device_id.bytes)),
        )
        self.add(
            "device list: device injected by the server",
            "device_list_accept",
            {
                **common,
                "pinned": head(lists[2]),
                "versions": [envelope.encode_device_list(server_list)],
            },
            "E_SIG",
        )

    def practice_negatives(self) -> None:
        w = self.world
        cfgs = configs(w)
        enc = [envelope.encode_config(c) for c in cfgs]
        common = {"practice_id": u(w.practice_id), "prsk_pub": h(w.keys.prsk_pub)}
        self.add(
            "config: rolled back",
            "config_accept",
            {
                **common,
                "pinned": {"seq": 2, "hash": h(sha256(cfgs[1].message()))},
                "versions": [enc[0]],
            },
            "E_ROLLBACK",
        )
        self.add(
            "config: flipped PRK",
            "config_accept",
            {
                **common,
                "pinned": None,
                "versions": [{**enc[0], "prk_pub": _flip_b64(enc[0]["prk_pub"])}],
            },
            "E_SIG",
        )
        other_prsk = ed25519_from_seed(det("other-practice/prsk"))
        swapped = practice.sign_config(
            other_prsk,
            practice_id=w.practice_id,
            seq=2,
            prev_hash=sha256(cfgs[0].message()),
            prk_pub=raw_public(w.prk2),
            name="Evil",
        )
        self.add(
            "config: signed by another PRSK",
            "config_accept",
            {
                **common,
                "pinned": {"seq": 1, "hash": h(sha256(cfgs[0].message()))},
                "versions": [envelope.encode_config(swapped)],
            },
            "E_CERT",
        )
        certs = {c.user_id: envelope.encode_cert(c) for c in w.certs}
        therapist, client, supervisor = w.user("therapist"), w.user("client"), w.user("supervisor")
        directory = {
            **common,
            "certs": [envelope.encode_cert(c) for c in w.certs],
            "revocations": [],
        }
        foreign = practice.issue_cert(
            other_prsk,
            issuer_kind="prsk",
            practice_id=det_uuid4("other-practice"),
            user_id=therapist.user_id,
            role="therapist",
            aik_pub=therapist.keys.aik_pub,
            valid_from=T0,
            reason="enrolled",
        )
        self.add(
            "cert: from another practice",
            "member_cert_verify",
            {**directory, "cert": envelope.encode_cert(foreign), "at": None},
            "E_CERT",
        )
        self.add(
            "cert: flipped signature",
            "member_cert_verify",
            {
                **directory,
                "cert": {
                    **certs[therapist.user_id],
                    "sig": _flip_b64(certs[therapist.user_id]["sig"]),
                },
                "at": None,
            },
            "E_CERT",
        )
        self.add(
            "cert: role changed",
            "member_cert_verify",
            {**directory, "cert": {**certs[therapist.user_id], "role": "owner"}, "at": None},
            "E_CERT",
        )
        staff_by_member = practice.MemberCert(
            w.practice_id,
            supervisor.user_id,
            "therapist",
            supervisor.keys.aik_pub,
            T0,
            "enrolled",
            "member",
            therapist.keys.aik_id,
        )
        staff_by_member = replace(
            staff_by_member, sig=sign(therapist.keys.aik, staff_by_member.message())
        )
        self.add(
            "cert: member-issued staff certificate",
            "member_cert_verify",
            {**directory, "cert": envelope.encode_cert(staff_by_member), "at": None},
            "E_CERT",
        )
        issued_by_client = practice.issue_cert(
            client.keys.aik,
            issuer_kind="member",
            practice_id=w.practice_id,
            user_id=w.user("other_client").user_id,
            role="client",
            aik_pub=w.user("other_client").keys.aik_pub,
            valid_from=T0 + 3000,
            reason="enrolled",
        )
        self.add(
            "cert: issued by a client",
            "member_cert_verify",
            {**directory, "cert": envelope.encode_cert(issued_by_client), "at": None},
            "E_CERT",
        )
        issuer_revoked = practice.revoke(
            w.keys.prsk,
            practice_id=w.practice_id,
            user_id=therapist.user_id,
            aik_id=therapist.keys.aik_id,
            revoked_at=T0 + 1500,
            reason="left",
        )
        self.add(
            "cert: issuer revoked before the subject's valid_from",
            "member_cert_verify",
            {
                **directory,
                "revocations": [envelope.encode_revocation(issuer_revoked)],
                "cert": certs[client.user_id],
                "at": None,
            },
            "E_CERT",
        )
        self.add(
            "cert: revoked at the time of use",
            "member_cert_verify",
            {
                **directory,
                "revocations": [envelope.encode_revocation(issuer_revoked)],
                "cert": certs[therapist.user_id],
                "at": T0 + 2000,
            },
            "E_CERT",
        )
        self.add(
            "cert: used before valid_from",
            "member_cert_verify",
            {**directory, "cert": certs[therapist.user_id], "at": T0},
            "E_CERT",
        )

    def stream_negatives(self) -> None:
        for size, mutation, error in (
            (
                1048521,
                {"kind": "truncate", "length": stream.ciphertext_length(1048521) - 1},
                "E_BODY",
            ),
            (1048521, {"kind": "truncate", "length": stream.SEGMENT_SIZE}, "E_TRUNCATED"),
            (2097081, {"kind": "truncate", "length": stream.SEGMENT_SIZE * 2}, "E_TRUNCATED"),
            (2097081, {"kind": "swap_segments", "a": 0, "b": 1}, "E_BODY"),
            (2097081, {"kind": "swap_segments", "a": 1, "b": 2}, "E_BODY"),
            (1048519, {"kind": "append", "hex": "00" * 16}, "E_BODY"),
            (1048521, {"kind": "append", "hex": "00" * 17}, "E_BODY"),
            (1, {"kind": "flip_bit", "offset": 45, "bit": 0}, "E_BODY"),
            (1, {"kind": "flip_bit", "offset": 0, "bit": 3}, "E_BODY"),
            (1, {"kind": "flip_bit", "offset": 5, "bit": 0}, "E_BODY"),
            (1, {"kind": "truncate", "length": 55}, "E_TRUNCATED"),
            (0, {"kind": "truncate", "length": 39}, "E_TRUNCATED"),
            (1048521, {"kind": "flip_bit", "offset": 40 + 1048576 - 40 + 3, "bit": 1}, "E_BODY"),
        ):
            self.add(
                f"stream {size}: {mutation['kind']} {mutation}",
                "stream_decrypt",
                {"case_size": size, "mutation": mutation, "wrong_aad": False},
                error,
            )
        self.add(
            "stream 1: wrong aad",
            "stream_decrypt",
            {"case_size": 1, "mutation": None, "wrong_aad": True},
            "E_BODY",
        )

    def webrtc_negatives(self) -> None:
        sec = section_webrtc(self.world)
        common = {k: sec[k] for k in ("call_id", "role", "peer_user_id", "device_list", "sdp")}
        st = sec["statement"]
        self.add(
            "webrtc: flipped signature",
            "webrtc_fp_verify",
            {**common, "statement": {**st, "sig": _flip_b64(st["sig"])}},
            "E_FINGERPRINT",
        )
        self.add(
            "webrtc: another call id",
            "webrtc_fp_verify",
            {**common, "call_id": u(det_uuid4("call/2")), "statement": st},
            "E_FINGERPRINT",
        )
        other_fp = det("webrtc/other-fp")
        self.add(
            "webrtc: SDP carries another fingerprint",
            "webrtc_fp_verify",
            {
                **common,
                "sdp": sec["sdp"].replace(
                    webrtc.format_fingerprint(det("webrtc/cert-fingerprint")),
                    webrtc.format_fingerprint(other_fp),
                ),
                "statement": st,
            },
            "E_FINGERPRINT",
        )
        self.add(
            "webrtc: SDP adds a second fingerprint",
            "webrtc_fp_verify",
            {
                **common,
                "sdp": sec["sdp"]
                + f"a=fingerprint:sha-256 {webrtc.format_fingerprint(other_fp)}\r\n",
                "statement": st,
            },
            "E_FINGERPRINT",
        )
        self.add(
            "webrtc: SDP uses sha-1",
            "webrtc_fp_verify",
            {
                **common,
                "sdp": sec["sdp"] + "a=fingerprint:sha-1 " + ":".join(["AB"] * 20) + "\r\n",
                "statement": st,
            },
            "E_FINGERPRINT",
        )
        lists, _ = device_lists(self.world)
        self.add(
            "webrtc: device revoked in the current list",
            "webrtc_fp_verify",
            {**common, "statement": {**st, "device_id": u(lists[2].entries[0].device_id)}},
            "E_FINGERPRINT",
        )
        self.add(
            "webrtc: device not in the list",
            "webrtc_fp_verify",
            {**common, "device_list": envelope.encode_device_list(lists[0]), "statement": st},
            "E_FINGERPRINT",
        )


def _flip_bytes(data: bytes, bit: int) -> bytes:
    raw = bytearray(data)
    raw[bit // 8] ^= 1 << (bit % 8)
    return bytes(raw)


def dumps_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# -- assembly ------------------------------------------------------------------------------------


def build() -> Json:
    world = World()
    iv = ItemVectors(world)
    keys_kid, keys_pkcs8 = section_keys(world)
    pw = section_password(world)
    wraps = section_wraps(world)
    prac = section_practice(world)
    codes = section_codes(world)
    out: Json = {
        "suite": "qr1",
        "format": 1,
        "generator": "python -m quietroom.crypto.vectors --write",
        "seeds": {
            "seed": SEED.decode(),
            "rng": (
                "HKDF-SHA256(SEED, 32 zero bytes, "
                "PAE(T('quietroom-test/rng'), T(name), U(counter)), n)"
            ),
            "t0": T0,
        },
        "conventions": (
            "raw bytes are lowercase hex; protocol envelopes are protocol JSON "
            "(base64url inside); see README.md"
        ),
        "sections": [],
        "pae": section_pae(),
        "b64url": section_b64url(),
        "uuid": section_uuid(),
        "key_id": keys_kid,
        "pkcs8": keys_pkcs8,
        **pw,
        "bundle": section_bundle(world),
        "hpke_open": section_hpke(world),
        **wraps,
        "device_list": section_device_list(world),
        **prac,
        **codes,
        "world": world.as_json(),
        "item": iv.section(),
        "stream": section_stream(),
        "webrtc_fp": section_webrtc(world),
        "turn": section_turn(),
        "recovery": section_recovery(world),
        "negative": Negatives(world, iv).build(),
    }
    out["sections"] = [
        k
        for k in out
        if k not in {"suite", "format", "generator", "seeds", "conventions", "sections"}
    ]
    return out


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate the vector file")
    group.add_argument("--check", action="store_true", help="fail if the file differs")
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    data = build()
    # Refuse to publish a vector our own implementation disagrees with.
    vector_runner.check_items(data)
    vector_runner.check_negatives(data)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if args.write:
        args.path.write_text(text, encoding="utf-8")
        return 0
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
    if current != text:
        sys.stderr.write(
            f"{args.path} is out of date: run python -m quietroom.crypto.vectors --write\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
