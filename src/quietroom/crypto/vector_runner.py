"""Runs the operations named by ``qr1.json`` against this implementation.

The generator uses it to refuse writing a negative vector whose expected code our own code does
not produce, and the tests use it to check every vector. It doubles as the reference for what
each ``op`` in the ``negative`` section means (the TypeScript runner mirrors it).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from quietroom.crypto import (
    account,
    devices,
    encoding,
    envelope,
    items,
    password,
    practice,
    stream,
    webrtc,
)
from quietroom.crypto.chain import ChainHead
from quietroom.crypto.errors import CryptoError
from quietroom.crypto.keys import (
    Rng,
    pkcs8_decode_ed25519,
    pkcs8_decode_x25519,
    x25519_from_seed,
)

Json = dict[str, Any]


class VectorMismatchError(AssertionError):
    """A vector's expectation does not hold for this implementation."""


def _x(value: str) -> bytes:
    return bytes.fromhex(value)


def _id(value: str) -> uuid.UUID:
    return encoding.parse_uuid(value)


def _head(value: Json | None) -> ChainHead | None:
    return None if value is None else ChainHead(value["seq"], _x(value["hash"]))


def _kdf(value: Json) -> password.KdfParams:
    if value.get("alg") != "argon2id":
        raise VectorMismatchError("kdf.alg must be argon2id")
    return password.KdfParams(m=value["m"], t=value["t"], p=value["p"])


def reader_for(world: Json, name: str) -> items.Reader:
    practice_id = _id(world["practice_id"])
    if name == "prk":
        return items.Reader.practice(
            practice_id,
            x25519_from_seed(_x(world["prk_seed"])),
            x25519_from_seed(_x(world["prk_rotated_seed"])),
        )
    user = world["users"][name]
    return items.Reader.user(_id(user["user_id"]), x25519_from_seed(_x(user["aek_seed"])))


def trust_for(
    world: Json,
    *,
    certs: list[Json] | None = None,
    revocations: list[Json] | None = None,
    pins: dict[str, list[str]] | None = None,
) -> items.Trust:
    directory = practice.Directory(
        _id(world["practice_id"]),
        _x(world["prsk_pub"]),
        [envelope.decode_cert_obj(c) for c in (world["certs"] if certs is None else certs)],
        [envelope.decode_revocation_obj(r) for r in (revocations or world["revocations"])],
    )
    pin_store = items.Pins(
        {_id(k): [_x(a) for a in v] for k, v in (pins or {}).items()},
    )
    return items.Trust(directory, pin_store)


def open_item_case(world: Json, data: Json, reader: str) -> items.OpenedItem:
    revisions = [envelope.decode_item_obj(r) for r in data["revisions"]]
    wraps = None if data.get("wraps") is None else [envelope.decode_wrap(w) for w in data["wraps"]]
    grants = [envelope.decode_grant_obj(g) for g in data.get("grants", [])]
    trust = trust_for(
        world,
        certs=data.get("certs"),
        revocations=data.get("revocations"),
        pins=data.get("pins"),
    )
    blob = None if data.get("blob") is None else _x(data["blob"])
    return items.open_item(
        revisions,
        reader=reader_for(world, reader),
        trust=trust,
        wraps=wraps,
        grants=grants,
        blob=blob,
    )


def stream_ciphertext(vectors: Json, size: int) -> tuple[bytes, bytes, bytes]:
    """Re-creates the ``stream`` case of ``size``: ``(cek, aad, ciphertext)``."""
    case = next(c for c in vectors["stream"]["cases"] if c["size"] == size)
    rng = fixed_rng(_x(case["salt"]), _x(case["nonce_prefix"]))
    ct = stream.encrypt_bytes(_x(case["cek"]), _x(case["aad"]), stream.pattern(size), rng=rng)
    return _x(case["cek"]), _x(case["aad"]), ct


def fixed_rng(*values: bytes) -> Rng:
    """An ``Rng`` that returns the given values in order (the stored stream header fields)."""
    queue = list(values)

    def rng(n: int) -> bytes:
        value = queue.pop(0)
        if len(value) != n:
            raise VectorMismatchError("fixed random value of the wrong length")
        return value

    return rng


def mutate_stream(ct: bytes, mutation: Json | None) -> bytes:
    if mutation is None:
        return ct
    kind = mutation["kind"]
    if kind == "truncate":
        return ct[: mutation["length"]]
    if kind == "append":
        return ct + _x(mutation["hex"])
    if kind == "flip_bit":
        raw = bytearray(ct)
        raw[mutation["offset"]] ^= 1 << mutation["bit"]
        return bytes(raw)
    if kind == "swap_segments":
        header, body = ct[: stream.HEADER_LEN], ct[stream.HEADER_LEN :]
        first = stream.SEGMENT_SIZE - stream.HEADER_LEN
        bounds = [0, first]
        while bounds[-1] < len(body):
            bounds.append(min(bounds[-1] + stream.SEGMENT_SIZE, len(body)))
        segments = [body[a:b] for a, b in pairwise(bounds)]
        a, b = mutation["a"], mutation["b"]
        segments[a], segments[b] = segments[b], segments[a]
        return header + b"".join(segments)
    raise VectorMismatchError(f"unknown stream mutation {kind}")


def _op_item_open(v: Json, d: Json) -> None:
    open_item_case(v["world"], d, d["reader"])


def _op_pw_unlock(_v: Json, d: Json) -> None:
    account.unlock_with_password(
        d["password"],
        _x(d["pw_wrap"]),
        user_id=_id(d["user_id"]),
        salt=_x(d["salt"]),
        params=_kdf(d["kdf"]),
        ver=d["ver"],
        secret_key=None if d["secret_key"] is None else _x(d["secret_key"]),
    )


def _op_pw_open_kek(_v: Json, d: Json) -> None:
    account.open_pw_wrap(
        _x(d["kek"]),
        _x(d["pw_wrap"]),
        user_id=_id(d["user_id"]),
        salt=_x(d["salt"]),
        params=_kdf(d["kdf"]),
        ver=d["ver"],
    )


def _op_bundle_open(_v: Json, d: Json) -> None:
    account.open_bundle(_x(d["uk"]), envelope.decode_bundle_obj(d["envelope"]))


def _op_aek_bind(_v: Json, d: Json) -> None:
    account.verify_aek_bind(envelope.decode_aek_bind_obj(d["envelope"]), _x(d["aik_pub"]))


def _op_dev_wrap(_v: Json, d: Json) -> None:
    devices.open_dev_wrap(
        x25519_from_seed(_x(d["dk_enc_seed"])),
        _x(d["dev_wrap"]),
        user_id=_id(d["user_id"]),
        device_id=_id(d["device_id"]),
    )


def _op_rec_escrow(_v: Json, d: Json) -> None:
    account.open_rec_escrow(
        x25519_from_seed(_x(d["prk_seed"])),
        _x(d["escrow"]),
        practice_id=_id(d["practice_id"]),
        user_id=_id(d["user_id"]),
        aek_id=_x(d["aek_id"]),
    )


def _op_device_list(_v: Json, d: Json) -> None:
    devices.accept_device_list(
        _head(d["pinned"]),
        [envelope.decode_device_list_obj(x) for x in d["versions"]],
        user_id=_id(d["user_id"]),
        aik_pubs=[_x(k) for k in d["aik_pubs"]],
    )


def _op_config(_v: Json, d: Json) -> None:
    practice.accept_configs(
        _head(d["pinned"]),
        [envelope.decode_config_obj(x) for x in d["versions"]],
        practice_id=_id(d["practice_id"]),
        pinned_prsk_pub=_x(d["prsk_pub"]),
    )


def _op_cert(_v: Json, d: Json) -> None:
    directory = practice.Directory(
        _id(d["practice_id"]),
        _x(d["prsk_pub"]),
        [envelope.decode_cert_obj(c) for c in d["certs"]],
        [envelope.decode_revocation_obj(r) for r in d["revocations"]],
    )
    directory.verify_cert(envelope.decode_cert_obj(d["cert"]), d["at"])


def _op_stream(v: Json, d: Json) -> None:
    cek, aad, ct = stream_ciphertext(v, d["case_size"])
    if d["wrong_aad"]:
        aad = bytes([aad[0] ^ 1]) + aad[1:]
    stream.decrypt_bytes(cek, aad, mutate_stream(ct, d["mutation"]))


def _op_webrtc(_v: Json, d: Json) -> None:
    webrtc.verify_statement(
        envelope.decode_fingerprint_obj(d["statement"]),
        call_id=_id(d["call_id"]),
        role=d["role"],
        peer_user_id=_id(d["peer_user_id"]),
        peer_devices=envelope.decode_device_list_obj(d["device_list"]),
        remote_sdp=d["sdp"],
    )


def _op_pkcs8(_v: Json, d: Json) -> None:
    if d["alg"] == "x25519":
        pkcs8_decode_x25519(_x(d["der"]))
    else:
        pkcs8_decode_ed25519(_x(d["der"]))


OPS: dict[str, Callable[[Json, Json], object]] = {
    "item_open": _op_item_open,
    "b64url_decode": lambda _v, d: encoding.b64url_decode(d["text"]),
    "uuid_parse": lambda _v, d: encoding.parse_uuid(d["text"]),
    "pkcs8_decode": _op_pkcs8,
    "sk_parse": lambda _v, d: password.parse_secret_key(d["text"]),
    "envelope_decode": lambda _v, d: envelope.DECODERS[d["kind"]](d["text"].encode("utf-8")),
    "envelope_decode_hex": lambda _v, d: envelope.DECODERS[d["kind"]](_x(d["hex"])),
    "pw_wrap_unlock": _op_pw_unlock,
    "pw_wrap_open_kek": _op_pw_open_kek,
    "bundle_open": _op_bundle_open,
    "aek_bind_verify": _op_aek_bind,
    "dev_wrap_open": _op_dev_wrap,
    "rec_escrow_open": _op_rec_escrow,
    "device_list_accept": _op_device_list,
    "config_accept": _op_config,
    "member_cert_verify": _op_cert,
    "stream_decrypt": _op_stream,
    "webrtc_fp_verify": _op_webrtc,
}


def run_negative(vectors: Json, case: Json) -> str:
    """Runs one negative vector and returns the error code it raised (``"OK"`` if none)."""
    try:
        OPS[case["op"]](vectors, case["input"])
    except CryptoError as exc:
        return exc.code
    return "OK"


def check_negatives(vectors: Json) -> None:
    failures = []
    for case in vectors["negative"]:
        got = run_negative(vectors, case)
        if got != case["error"]:
            failures.append(f"{case['name']}: expected {case['error']}, got {got}")
    if failures:
        raise VectorMismatchError("\n".join(failures))


def check_items(vectors: Json) -> None:
    """Every positive item case opens for every listed reader with the stored values."""
    world = vectors["world"]
    for case in vectors["item"]["cases"]:
        expect = case["expect"]
        for reader in expect["readers"]:
            opened = open_item_case(world, case, reader)
            got = {
                "payload": opened.payload.hex(),
                "cek": opened.cek.hex(),
                "root_h": opened.root_h.hex(),
                "h": opened.header.hash().hex(),
            }
            want = {
                "payload": expect["payload"],
                "cek": expect["cek"],
                "root_h": expect["root_h"],
                "h": expect["h"][-1],
            }
            if got != want:
                raise VectorMismatchError(f"item {case['name']} for {reader}: {got} != {want}")


def check_foreign_items(vectors: Json, foreign: Json) -> int:
    """Opens items another implementation sealed (cross-language round trip, §14).

    ``foreign`` is ``{"producer": ..., "items": [<cases shaped like the item section>]}``, sealed
    to the users and PRK of ``vectors["world"]``; ``expect`` needs ``payload`` and ``readers`` (the
    seal-dependent values ``cek``, ``root_h`` and ``h`` are recomputed, not compared). Returns the
    number of (item, reader) pairs opened.
    """
    world = vectors["world"]
    opened_count = 0
    for case in foreign["items"]:
        for reader in case["expect"]["readers"]:
            opened = open_item_case(world, case, reader)
            if opened.payload.hex() != case["expect"]["payload"]:
                raise VectorMismatchError(f"{case['name']} for {reader}: payload differs")
            opened_count += 1
    return opened_count


def main(argv: list[str] | None = None) -> int:
    """``python -m quietroom.crypto.vector_runner FILE...``: open foreign-sealed item files."""
    from quietroom.crypto.vectors import DEFAULT_PATH  # noqa: PLC0415 - vectors imports this module

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    vectors = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    for name in args.files:
        count = check_foreign_items(vectors, json.loads(Path(name).read_text(encoding="utf-8")))
        sys.stdout.write(f"{name}: opened {count} (item, reader) pairs\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
