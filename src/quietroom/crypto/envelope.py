"""Closed-schema JSON for every envelope (crypto-protocol.md §2.6, §7.5).

Decoding is the first thing the server and clients do with untrusted bytes, so it is strict:
UTF-8 only, no duplicate keys, no floats or non-finite numbers, unknown or missing fields
rejected, bytes as unpadded canonical base64url, UUIDs as lowercase canonical text, integers in
[0, 2^53-1]. Every failure is an :class:`EnvelopeError` (``E_SCHEMA``, ``E_ENCODING`` or
``E_SUITE``); the fuzz target relies on nothing else escaping.

The ``suite`` is checked before the rest of the schema, so that an envelope of a future suite is
refused as such (``E_SUITE``) rather than as a schema mismatch.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from quietroom.crypto.account import AekBind, Bundle
from quietroom.crypto.devices import DeviceEntry, DeviceList, check_entries_sorted
from quietroom.crypto.encoding import (
    SUITE,
    b64url_decode,
    b64url_encode,
    check_uint,
    parse_uuid,
    uuid_text,
)
from quietroom.crypto.errors import (
    CryptoError,
    EncodingError,
    EnvelopeError,
    SchemaError,
    SuiteError,
)
from quietroom.crypto.items import (
    BodyInfo,
    Grant,
    Header,
    Item,
    Recipient,
    Wrap,
    check_header,
)
from quietroom.crypto.keys import WRAP_LEN
from quietroom.crypto.practice import (
    MemberCert,
    MemberRevocation,
    PracticeConfig,
    check_cert_fields,
)
from quietroom.crypto.webrtc import FingerprintStatement

__all__ = ["EnvelopeError", "decode"]

MAX_ENVELOPE: Final = 2 * 1024 * 1024  # an inline body is at most 1 MiB, about 1.4 MB in base64
MAX_LIST: Final = 1000

JsonObj = dict[str, Any]


# -- strict JSON ---------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> JsonObj:
    out: JsonObj = {}
    for key, value in pairs:
        if key in out:
            raise SchemaError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise EncodingError(f"numbers must be integers, got {text[:20]!r}")


def loads(data: bytes) -> Any:
    if not isinstance(data, bytes | bytearray):
        raise SchemaError("envelope must be bytes")
    if len(data) > MAX_ENVELOPE:
        raise SchemaError("envelope too large")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError("envelope is not UTF-8") from exc
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except CryptoError as exc:
        if isinstance(exc, EnvelopeError):
            raise
        raise SchemaError(str(exc)) from exc
    except RecursionError as exc:
        raise SchemaError("envelope nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and ints over Python's digit limit
        raise SchemaError("envelope is not valid JSON") from exc


def dumps(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Obj:
    """One JSON object of a closed schema; accessors raise typed errors naming the field."""

    def __init__(self, raw: object, fields: tuple[str, ...], where: str) -> None:
        if not isinstance(raw, dict):
            raise SchemaError(f"{where} must be an object")
        keys = set(raw)
        if keys != set(fields):
            unknown, missing = sorted(keys - set(fields)), sorted(set(fields) - keys)
            raise SchemaError(f"{where}: unknown fields {unknown}, missing fields {missing}")
        self.raw: JsonObj = raw
        self.where = where

    def text(self, name: str, allowed: tuple[str, ...] | None = None) -> str:
        value = self.raw[name]
        if not isinstance(value, str):
            raise SchemaError(f"{self.where}.{name} must be a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EncodingError(f"{self.where}.{name} is not valid Unicode") from exc
        if allowed is not None and value not in allowed:
            raise SchemaError(f"{self.where}.{name} has an unknown value")
        return value

    def uid(self, name: str) -> uuid.UUID:
        return parse_uuid(self.raw[name])

    def integer(self, name: str) -> int:
        value = self.raw[name]
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError(f"{self.where}.{name} must be an integer")
        return check_uint(value)

    def raw_bytes(self, name: str, length: int | None = None) -> bytes:
        value = self.raw[name]
        if not isinstance(value, str):
            raise SchemaError(f"{self.where}.{name} must be a base64url string")
        return b64url_decode(value, length)

    def array(self, name: str) -> list[object]:
        value = self.raw[name]
        if not isinstance(value, list):
            raise SchemaError(f"{self.where}.{name} must be a list")
        if len(value) > MAX_LIST:
            raise SchemaError(f"{self.where}.{name} is too long")
        return value


def _check_suite(raw: object, where: str) -> None:
    if isinstance(raw, dict) and "suite" in raw:
        suite = raw["suite"]
        if not isinstance(suite, str):
            raise SchemaError(f"{where}.suite must be a string")
        if suite != SUITE:
            raise SuiteError(f"unknown suite {suite[:16]!r}")


def _top(raw: object, fields: tuple[str, ...], where: str) -> _Obj:
    _check_suite(raw, where)
    obj = _Obj(raw, fields, where)
    obj.text("suite", (SUITE,))
    return obj


# -- items (§7) ----------------------------------------------------------------------------------

_HDR_FIELDS: Final = (
    "suite",
    "item_id",
    "practice_id",
    "chart_id",
    "thread_id",
    "type",
    "revision",
    "prev_rev_hash",
    "author_user_id",
    "author_aik_id",
    "created_at",
    "recipients",
    "cek_commit",
    "body",
)


def _recipient(raw: object) -> Recipient:
    obj = _Obj(raw, ("kind", "id", "key_id"), "recipient")
    return Recipient(obj.text("kind", ("prk", "user")), obj.uid("id"), obj.raw_bytes("key_id", 16))


def decode_header(raw: object) -> Header:
    _check_suite(raw, "hdr")
    obj = _Obj(raw, _HDR_FIELDS, "hdr")
    body = _Obj(obj.raw["body"], ("kind", "size", "seg"), "hdr.body")
    prev = obj.raw_bytes("prev_rev_hash")
    hdr = Header(
        suite=obj.text("suite"),
        item_id=obj.uid("item_id"),
        practice_id=obj.uid("practice_id"),
        chart_id=obj.uid("chart_id"),
        thread_id=obj.uid("thread_id"),
        type=obj.text("type"),
        revision=obj.integer("revision"),
        prev_rev_hash=prev,
        author_user_id=obj.uid("author_user_id"),
        author_aik_id=obj.raw_bytes("author_aik_id", 16),
        created_at=obj.integer("created_at"),
        recipients=tuple(_recipient(r) for r in obj.array("recipients")),
        cek_commit=obj.raw_bytes("cek_commit", 32),
        body=BodyInfo(body.text("kind"), body.integer("size"), body.integer("seg")),
    )
    check_header(hdr)
    return hdr


def encode_header(hdr: Header) -> JsonObj:
    return {
        "suite": hdr.suite,
        "item_id": uuid_text(hdr.item_id),
        "practice_id": uuid_text(hdr.practice_id),
        "chart_id": uuid_text(hdr.chart_id),
        "thread_id": uuid_text(hdr.thread_id),
        "type": hdr.type,
        "revision": hdr.revision,
        "prev_rev_hash": b64url_encode(hdr.prev_rev_hash),
        "author_user_id": uuid_text(hdr.author_user_id),
        "author_aik_id": b64url_encode(hdr.author_aik_id),
        "created_at": hdr.created_at,
        "recipients": [
            {"kind": r.kind, "id": uuid_text(r.id), "key_id": b64url_encode(r.key_id)}
            for r in hdr.recipients
        ],
        "cek_commit": b64url_encode(hdr.cek_commit),
        "body": {"kind": hdr.body.kind, "size": hdr.body.size, "seg": hdr.body.seg},
    }


def decode_wrap(raw: object) -> Wrap:
    obj = _Obj(raw, ("kind", "id", "key_id", "ct"), "wrap")
    return Wrap(
        obj.text("kind", ("prk", "user")),
        obj.uid("id"),
        obj.raw_bytes("key_id", 16),
        obj.raw_bytes("ct", WRAP_LEN),
    )


def encode_wrap(wrap: Wrap) -> JsonObj:
    return {
        "kind": wrap.kind,
        "id": uuid_text(wrap.id),
        "key_id": b64url_encode(wrap.key_id),
        "ct": b64url_encode(wrap.ct),
    }


def decode_item_obj(raw: object) -> Item:
    if isinstance(raw, dict):
        _check_suite(raw.get("hdr"), "hdr")
    obj = _Obj(raw, ("hdr", "body", "wraps", "sig"), "item")
    hdr = decode_header(obj.raw["hdr"])
    wraps = tuple(decode_wrap(w) for w in obj.array("wraps"))
    sig = obj.raw_bytes("sig", 64)
    if hdr.body.kind == "inline":
        body = _Obj(obj.raw["body"], ("ct",), "item.body")
        body_ct = body.raw_bytes("ct")
        return Item(hdr=hdr, sig=sig, body_ct=body_ct, wraps=wraps)
    body = _Obj(obj.raw["body"], ("blob_id",), "item.body")
    return Item(hdr=hdr, sig=sig, blob_id=body.uid("blob_id"), wraps=wraps)


def decode(data: bytes) -> Item:
    """Decodes an item upload ``{hdr, body, wraps, sig}``; the fuzz target's entry point."""
    return decode_item_obj(loads(data))


def encode_item(item: Item) -> JsonObj:
    body: JsonObj
    if item.hdr.body.kind == "inline":
        if item.body_ct is None:
            raise SchemaError("inline item without body ciphertext")
        body = {"ct": b64url_encode(item.body_ct)}
    else:
        if item.blob_id is None:
            raise SchemaError("stream item without blob id")
        body = {"blob_id": uuid_text(item.blob_id)}
    return {
        "hdr": encode_header(item.hdr),
        "body": body,
        "wraps": [encode_wrap(w) for w in item.wraps],
        "sig": b64url_encode(item.sig),
    }


_GRANT_FIELDS: Final = (
    "suite",
    "item_id",
    "root_h",
    "grantee_user_id",
    "grantee_key_id",
    "granted_at",
    "granter_user_id",
    "granter_aik_id",
    "wrap",
    "sig",
)


def decode_grant_obj(raw: object) -> Grant:
    obj = _top(raw, _GRANT_FIELDS, "grant")
    return Grant(
        item_id=obj.uid("item_id"),
        root_h=obj.raw_bytes("root_h", 32),
        grantee_user_id=obj.uid("grantee_user_id"),
        grantee_key_id=obj.raw_bytes("grantee_key_id", 16),
        granted_at=obj.integer("granted_at"),
        granter_user_id=obj.uid("granter_user_id"),
        granter_aik_id=obj.raw_bytes("granter_aik_id", 16),
        wrap=obj.raw_bytes("wrap", WRAP_LEN),
        sig=obj.raw_bytes("sig", 64),
    )


def encode_grant(grant: Grant) -> JsonObj:
    return {
        "suite": SUITE,
        "item_id": uuid_text(grant.item_id),
        "root_h": b64url_encode(grant.root_h),
        "grantee_user_id": uuid_text(grant.grantee_user_id),
        "grantee_key_id": b64url_encode(grant.grantee_key_id),
        "granted_at": grant.granted_at,
        "granter_user_id": uuid_text(grant.granter_user_id),
        "granter_aik_id": b64url_encode(grant.granter_aik_id),
        "wrap": b64url_encode(grant.wrap),
        "sig": b64url_encode(grant.sig),
    }


# -- device lists (§5.3) -------------------------------------------------------------------------

_DL_FIELDS: Final = (
    "suite",
    "user_id",
    "aik_id",
    "seq",
    "prev_hash",
    "created_at",
    "entries",
    "sig",
)
_ENTRY_FIELDS: Final = ("device_id", "dk_sig_pub", "dk_enc_pub", "added_at", "revoked_at")


def decode_device_list_obj(raw: object) -> DeviceList:
    obj = _top(raw, _DL_FIELDS, "device_list")
    entries = []
    for raw_entry in obj.array("entries"):
        e = _Obj(raw_entry, _ENTRY_FIELDS, "device_list.entry")
        entries.append(
            DeviceEntry(
                device_id=e.uid("device_id"),
                dk_sig_pub=e.raw_bytes("dk_sig_pub", 32),
                dk_enc_pub=e.raw_bytes("dk_enc_pub", 32),
                added_at=e.integer("added_at"),
                revoked_at=e.integer("revoked_at"),
            )
        )
    check_entries_sorted(entries)
    return DeviceList(
        user_id=obj.uid("user_id"),
        aik_id=obj.raw_bytes("aik_id", 16),
        seq=obj.integer("seq"),
        prev_hash=obj.raw_bytes("prev_hash", 32),
        created_at=obj.integer("created_at"),
        entries=tuple(entries),
        sig=obj.raw_bytes("sig", 64),
    )


def encode_device_list(dl: DeviceList) -> JsonObj:
    return {
        "suite": SUITE,
        "user_id": uuid_text(dl.user_id),
        "aik_id": b64url_encode(dl.aik_id),
        "seq": dl.seq,
        "prev_hash": b64url_encode(dl.prev_hash),
        "created_at": dl.created_at,
        "entries": [
            {
                "device_id": uuid_text(e.device_id),
                "dk_sig_pub": b64url_encode(e.dk_sig_pub),
                "dk_enc_pub": b64url_encode(e.dk_enc_pub),
                "added_at": e.added_at,
                "revoked_at": e.revoked_at,
            }
            for e in dl.entries
        ],
        "sig": b64url_encode(dl.sig),
    }


# -- practice (§6) -------------------------------------------------------------------------------

_CONFIG_FIELDS: Final = (
    "suite",
    "practice_id",
    "seq",
    "prev_hash",
    "prsk_pub",
    "prk_pub",
    "name",
    "policy",
    "sig",
)


def decode_config_obj(raw: object) -> PracticeConfig:
    obj = _top(raw, _CONFIG_FIELDS, "practice_config")
    policy_raw = obj.raw["policy"]
    if not isinstance(policy_raw, dict) or len(policy_raw) > MAX_LIST:
        raise SchemaError("practice_config.policy must be an object of strings")
    policy = _Obj(policy_raw, tuple(policy_raw), "practice_config.policy")
    return PracticeConfig(
        practice_id=obj.uid("practice_id"),
        seq=obj.integer("seq"),
        prev_hash=obj.raw_bytes("prev_hash", 32),
        prsk_pub=obj.raw_bytes("prsk_pub", 32),
        prk_pub=obj.raw_bytes("prk_pub", 32),
        name=obj.text("name"),
        policy={_checked_key(k): policy.text(k) for k in policy_raw},
        sig=obj.raw_bytes("sig", 64),
    )


def _checked_key(key: str) -> str:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("policy key is not valid Unicode") from exc
    return key


def encode_config(config: PracticeConfig) -> JsonObj:
    return {
        "suite": SUITE,
        "practice_id": uuid_text(config.practice_id),
        "seq": config.seq,
        "prev_hash": b64url_encode(config.prev_hash),
        "prsk_pub": b64url_encode(config.prsk_pub),
        "prk_pub": b64url_encode(config.prk_pub),
        "name": config.name,
        "policy": dict(sorted(config.policy.items())),
        "sig": b64url_encode(config.sig),
    }


_CERT_FIELDS: Final = (
    "suite",
    "practice_id",
    "user_id",
    "role",
    "aik_pub",
    "valid_from",
    "reason",
    "issuer_kind",
    "issuer_key_id",
    "sig",
)


def decode_cert_obj(raw: object) -> MemberCert:
    obj = _top(raw, _CERT_FIELDS, "member_cert")
    cert = MemberCert(
        practice_id=obj.uid("practice_id"),
        user_id=obj.uid("user_id"),
        role=obj.text("role"),
        aik_pub=obj.raw_bytes("aik_pub", 32),
        valid_from=obj.integer("valid_from"),
        reason=obj.text("reason"),
        issuer_kind=obj.text("issuer_kind"),
        issuer_key_id=obj.raw_bytes("issuer_key_id", 16),
        sig=obj.raw_bytes("sig", 64),
    )
    try:
        check_cert_fields(cert)
    except CryptoError as exc:
        raise SchemaError(exc.message) from exc
    return cert


def encode_cert(cert: MemberCert) -> JsonObj:
    return {
        "suite": SUITE,
        "practice_id": uuid_text(cert.practice_id),
        "user_id": uuid_text(cert.user_id),
        "role": cert.role,
        "aik_pub": b64url_encode(cert.aik_pub),
        "valid_from": cert.valid_from,
        "reason": cert.reason,
        "issuer_kind": cert.issuer_kind,
        "issuer_key_id": b64url_encode(cert.issuer_key_id),
        "sig": b64url_encode(cert.sig),
    }


_REVOKE_FIELDS: Final = (
    "suite",
    "practice_id",
    "user_id",
    "aik_id",
    "revoked_at",
    "reason",
    "signer_key_id",
    "sig",
)


def decode_revocation_obj(raw: object) -> MemberRevocation:
    obj = _top(raw, _REVOKE_FIELDS, "member_revoke")
    return MemberRevocation(
        practice_id=obj.uid("practice_id"),
        user_id=obj.uid("user_id"),
        aik_id=obj.raw_bytes("aik_id", 16),
        revoked_at=obj.integer("revoked_at"),
        reason=obj.text("reason"),
        signer_key_id=obj.raw_bytes("signer_key_id", 16),
        sig=obj.raw_bytes("sig", 64),
    )


def encode_revocation(rev: MemberRevocation) -> JsonObj:
    return {
        "suite": SUITE,
        "practice_id": uuid_text(rev.practice_id),
        "user_id": uuid_text(rev.user_id),
        "aik_id": b64url_encode(rev.aik_id),
        "revoked_at": rev.revoked_at,
        "reason": rev.reason,
        "signer_key_id": b64url_encode(rev.signer_key_id),
        "sig": b64url_encode(rev.sig),
    }


# -- account (§4) --------------------------------------------------------------------------------


def decode_aek_bind_obj(raw: object) -> AekBind:
    obj = _top(raw, ("suite", "user_id", "aek_pub", "ver", "created_at", "sig"), "aek_bind")
    return AekBind(
        user_id=obj.uid("user_id"),
        aek_pub=obj.raw_bytes("aek_pub", 32),
        ver=obj.integer("ver"),
        created_at=obj.integer("created_at"),
        sig=obj.raw_bytes("sig", 64),
    )


def encode_aek_bind(bind: AekBind) -> JsonObj:
    return {
        "suite": SUITE,
        "user_id": uuid_text(bind.user_id),
        "aek_pub": b64url_encode(bind.aek_pub),
        "ver": bind.ver,
        "created_at": bind.created_at,
        "sig": b64url_encode(bind.sig),
    }


def decode_bundle_obj(raw: object) -> Bundle:
    obj = _top(raw, ("suite", "user_id", "ver", "aik_pub", "aek_pub", "aik", "aek"), "bundle")
    return Bundle(
        user_id=obj.uid("user_id"),
        ver=obj.integer("ver"),
        aik_pub=obj.raw_bytes("aik_pub", 32),
        aek_pub=obj.raw_bytes("aek_pub", 32),
        aik=obj.raw_bytes("aik", 12 + 48 + 16),
        aek=obj.raw_bytes("aek", 12 + 48 + 16),
    )


def encode_bundle(bundle: Bundle) -> JsonObj:
    return {
        "suite": SUITE,
        "user_id": uuid_text(bundle.user_id),
        "ver": bundle.ver,
        "aik_pub": b64url_encode(bundle.aik_pub),
        "aek_pub": b64url_encode(bundle.aek_pub),
        "aik": b64url_encode(bundle.aik),
        "aek": b64url_encode(bundle.aek),
    }


# -- calls (§12.1) -------------------------------------------------------------------------------

_FP_FIELDS: Final = (
    "suite",
    "call_id",
    "role",
    "user_id",
    "device_id",
    "hash",
    "fingerprint",
    "sig",
)


def decode_fingerprint_obj(raw: object) -> FingerprintStatement:
    obj = _top(raw, _FP_FIELDS, "webrtc_fp")
    return FingerprintStatement(
        call_id=obj.uid("call_id"),
        role=obj.text("role", ("offerer", "answerer")),
        user_id=obj.uid("user_id"),
        device_id=obj.uid("device_id"),
        hash_name=obj.text("hash", ("sha-256",)),
        fingerprint=obj.raw_bytes("fingerprint", 32),
        sig=obj.raw_bytes("sig", 64),
    )


def encode_fingerprint(st: FingerprintStatement) -> JsonObj:
    return {
        "suite": SUITE,
        "call_id": uuid_text(st.call_id),
        "role": st.role,
        "user_id": uuid_text(st.user_id),
        "device_id": uuid_text(st.device_id),
        "hash": st.hash_name,
        "fingerprint": b64url_encode(st.fingerprint),
        "sig": b64url_encode(st.sig),
    }


def decode_grant(data: bytes) -> Grant:
    return decode_grant_obj(loads(data))


def decode_device_list(data: bytes) -> DeviceList:
    return decode_device_list_obj(loads(data))


def decode_config(data: bytes) -> PracticeConfig:
    return decode_config_obj(loads(data))


def decode_cert(data: bytes) -> MemberCert:
    return decode_cert_obj(loads(data))


def decode_revocation(data: bytes) -> MemberRevocation:
    return decode_revocation_obj(loads(data))


def decode_aek_bind(data: bytes) -> AekBind:
    return decode_aek_bind_obj(loads(data))


def decode_bundle(data: bytes) -> Bundle:
    return decode_bundle_obj(loads(data))


def decode_fingerprint(data: bytes) -> FingerprintStatement:
    return decode_fingerprint_obj(loads(data))


DECODERS: Final[dict[str, Callable[[bytes], object]]] = {
    "item": decode,
    "grant": decode_grant,
    "device_list": decode_device_list,
    "practice_config": decode_config,
    "member_cert": decode_cert,
    "member_revoke": decode_revocation,
    "aek_bind": decode_aek_bind,
    "bundle": decode_bundle,
    "webrtc_fp": decode_fingerprint,
}
"""Every envelope decoder by name (the fuzz target runs them all on each input)."""
