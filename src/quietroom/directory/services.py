"""The practice's key directory: configs, member certificates, revocations and PRSK wraps
(crypto-protocol §6.1 to §6.3, docs/api/keys.md "Directory").

Every upload is checked with `quietroom.crypto` before anything is written; a refusal raises
`DirectoryRefused` (the API answers 400, 404 or 409) and writes nothing. Who may act is decided
in `quietroom.directory.access`; the functions here that take a `Membership` trust that it is
the caller's active membership in the practice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_event
from quietroom.crypto import envelope
from quietroom.crypto.encoding import b64url_decode, b64url_encode
from quietroom.crypto.errors import CertError, CryptoError, EncodingError
from quietroom.crypto.practice import Directory, MemberCert, MemberRevocation
from quietroom.crypto.server_checks import check_cert_upload, check_revocation_upload
from quietroom.directory.models import (
    MemberCertificate,
    MemberRevocationRecord,
    PracticeConfigVersion,
    PrskWrap,
)
from quietroom.keys.models import AccountKeys
from quietroom.practices.models import CareTeamMember, Membership, Practice, Role

ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
PRSK_WRAP_MAX = 4096


class DirectoryRefused(Exception):  # noqa: N818 - a refusal, not a fault
    """An upload the server will not store. `status` is 400 (bad input, with `crypto` naming
    the protocol error when a check of `quietroom.crypto` failed), 404 (not the caller's to
    do, or no such member) or 409 (a duplicate)."""

    def __init__(
        self, status: int, message: str, *, code: str = "", crypto: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or {400: "bad_request", 404: "not_found", 409: "conflict"}[status]
        self.crypto = crypto

    @classmethod
    def of(cls, exc: CryptoError) -> DirectoryRefused:
        return cls(400, f"The envelope was refused: {exc.message}.", crypto=exc.code)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def envelope_text(raw: dict[str, Any]) -> str:
    """The exact object the browser sent, as stored JSON text (signatures stay checkable)."""
    return envelope.dumps(raw).decode("utf-8")


def envelope_obj(text: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(text)
    return obj


# -- configs -------------------------------------------------------------------------------------


def current_config(practice: Practice) -> PracticeConfigVersion | None:
    return PracticeConfigVersion.objects.filter(practice=practice).order_by("-seq").first()


def config_envelopes(practice: Practice) -> list[dict[str, Any]]:
    """Every signed config of the practice, oldest first, as the stored JSON objects."""
    rows = PracticeConfigVersion.objects.filter(practice=practice).order_by("seq")
    return [envelope_obj(row.envelope) for row in rows]


def pinned_prsk_pub(practice: Practice) -> bytes | None:
    """The PRSK of the first config: v1 has no PRSK rotation (§6.4), so it never changes."""
    first = PracticeConfigVersion.objects.filter(practice=practice).order_by("seq").first()
    return b64url_decode(first.prsk_pub, 32) if first else None


# -- the crypto view of the directory ----------------------------------------------------------


def crypto_directory(practice: Practice) -> Directory:
    """The practice's stored certificates and revocations as `quietroom.crypto` sees them.
    Everything in it was verified on upload, and `Directory` re-verifies on every lookup."""
    prsk_pub = pinned_prsk_pub(practice)
    if prsk_pub is None:
        raise DirectoryRefused(404, "This practice has no signed configuration yet.")
    certs = [
        envelope.decode_cert_obj(envelope_obj(c.envelope))
        for c in MemberCertificate.objects.filter(practice=practice).order_by("id")
    ]
    revocations = [
        envelope.decode_revocation_obj(envelope_obj(r.envelope))
        for r in MemberRevocationRecord.objects.filter(practice=practice).order_by("id")
    ]
    return Directory(practice.id, prsk_pub, certs, revocations)


def _current_cert(directory: Directory, keys: AccountKeys) -> MemberCert | None:
    try:
        return directory.certified_aik(keys.user_id, b64url_decode(keys.aik_id, 16), at=now_ms())
    except CryptoError:
        return None


def has_valid_cert(user: User, practice: Practice) -> bool:
    """Whether the person's current AIK has a certificate chaining to the PRSK, unrevoked now."""
    keys = AccountKeys.objects.filter(user=user, practice=practice).first()
    if keys is None or pinned_prsk_pub(practice) is None:
        return False
    return _current_cert(crypto_directory(practice), keys) is not None


# -- pending certificates ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    user_id: UUID
    display_name: str
    role: str
    aik_pub: str
    reason: str  # "enrolled" or "recovered"
    previous_aik_id: str | None
    since: datetime


def pending_certificates(members: list[Membership], practice: Practice) -> list[Pending]:
    """Of `members`, those with account keys whose current AIK has no valid certificate."""
    if pinned_prsk_pub(practice) is None:
        return []
    directory = crypto_directory(practice)
    by_user = {m.user_id: m for m in members if m.removed_at is None}
    out: list[Pending] = []
    keys_rows = AccountKeys.objects.filter(practice=practice, user_id__in=by_user).order_by(
        "updated_at"
    )
    for keys in keys_rows:
        if _current_cert(directory, keys) is not None:
            continue
        member = by_user[keys.user_id]
        older = (
            MemberCertificate.objects.filter(practice=practice, user_id=keys.user_id)
            .exclude(aik_id=keys.aik_id)
            .order_by("-id")
            .first()
        )
        out.append(
            Pending(
                user_id=keys.user_id,
                display_name=member.user.display_name,
                role=member.role,
                aik_pub=keys.aik_pub,
                reason="recovered" if older else "enrolled",
                previous_aik_id=older.aik_id if older else None,
                since=keys.updated_at,
            )
        )
    return out


# -- certificates --------------------------------------------------------------------------------


def _decode_cert(raw: dict[str, Any], practice: Practice) -> MemberCert:
    try:
        cert = envelope.decode_cert_obj(raw)
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None
    if cert.practice_id != practice.id:
        raise DirectoryRefused.of(CertError("certificate for another practice"))
    return cert


def _decode_revocation(raw: dict[str, Any], practice: Practice) -> MemberRevocation:
    try:
        rev = envelope.decode_revocation_obj(raw)
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None
    if rev.practice_id != practice.id:
        raise DirectoryRefused.of(CertError("revocation for another practice"))
    return rev


def _subject(practice: Practice, user_id: UUID) -> Membership | None:
    return (
        Membership.objects.select_related("user")
        .filter(practice=practice, user_id=user_id, user__is_active=True)
        .first()
    )


def _on_care_team(client: Membership, therapist: Membership) -> bool:
    return CareTeamMember.objects.filter(
        client=client, therapist=therapist, removed_at__isnull=True
    ).exists()


def _own_prsk_aik_ids(member: Membership) -> set[str]:
    return set(
        MemberCertificate.objects.filter(
            practice_id=member.practice_id, user_id=member.user_id, issuer_kind="prsk"
        ).values_list("aik_id", flat=True)
    )


def may_issue(actor: Membership, subject: Membership, cert: MemberCert) -> bool:
    """The issuer rules of docs/api/keys.md: PRSK certificates by active owners and admins; a
    member certificate only for a client, by a therapist on that client's care team uploading
    it under the AIK of their own PRSK-issued certificate."""
    if cert.issuer_kind == "prsk":
        return actor.role in ADMIN_ROLES
    return (
        actor.role == Role.THERAPIST
        and subject.role == Role.CLIENT
        and _on_care_team(subject, actor)
        and b64url_encode(cert.issuer_key_id) in _own_prsk_aik_ids(actor)
    )


def _record(
    action: str, actor: Membership, subject: Membership, object_type: str, object_id: str,
    *, origin: Origin | None, reason: str = "",
) -> None:  # fmt: skip
    record_event(
        action=action,
        actor=actor.user,
        actor_role=actor.role,
        practice=actor.practice,
        client=subject if subject.role == Role.CLIENT else None,
        object_type=object_type,
        object_id=object_id,
        reason=reason,
        origin=origin,
    )


def _store_revocation(
    rev: MemberRevocation, raw: dict[str, Any], *, actor: Membership, subject: Membership,
    directory: Directory, origin: Origin | None,
) -> MemberRevocationRecord:  # fmt: skip
    aik_id = b64url_encode(rev.aik_id)
    if MemberRevocationRecord.objects.filter(
        practice=actor.practice, user_id=rev.user_id, aik_id=aik_id
    ).exists():
        raise DirectoryRefused(409, "This key is already revoked.")
    try:
        check_revocation_upload(rev, directory)
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None
    record = MemberRevocationRecord.objects.create(
        practice=actor.practice,
        user_id=rev.user_id,
        aik_id=aik_id,
        revoked_at=rev.revoked_at,
        reason=rev.reason[:32],
        envelope=envelope_text(raw),
        uploaded_by=actor.user,
    )
    _record(
        "cert.revoked", actor, subject, "revocation", str(record.pk),
        origin=origin, reason=rev.reason[:100],
    )  # fmt: skip
    return record


def _check_prsk_wrap(text: str) -> None:
    try:
        if not text or len(text) > PRSK_WRAP_MAX:
            raise EncodingError("prsk_wrap is empty or too long")
        b64url_decode(text)
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None


def store_prsk_wrap(
    actor: Membership, subject: Membership, keys: AccountKeys, ct: str, origin: Origin | None
) -> PrskWrap:
    """The PRSK sealed to an owner's or admin's current AEK (§6.1), replacing an older one."""
    _check_prsk_wrap(ct)
    wrap, _ = PrskWrap.objects.update_or_create(
        practice=actor.practice, user=subject.user, defaults={"aek_id": keys.aek_id, "ct": ct}
    )
    _record("prsk_wrap.created", actor, subject, "prsk_wrap", str(wrap.pk), origin=origin)
    return wrap


@transaction.atomic
def issue_certificate(
    actor: Membership,
    cert_raw: dict[str, Any],
    revocation_raw: dict[str, Any] | None = None,
    prsk_wrap: str | None = None,
    origin: Origin | None = None,
) -> MemberCertificate:
    """Store one member certificate after every check; optionally revoke the member's previous
    AIK (recovery, rotation) and store the PRSK wrap of a new owner or admin, all or nothing."""
    practice = actor.practice
    cert = _decode_cert(cert_raw, practice)
    subject = _subject(practice, cert.user_id)
    if subject is None or subject.removed_at is not None or not may_issue(actor, subject, cert):
        raise DirectoryRefused(404, "Nothing was found here.")
    keys = AccountKeys.objects.select_for_update().filter(user=subject.user).first()
    if keys is None or keys.practice_id != practice.id:
        raise DirectoryRefused(400, "This member has no keys yet.", crypto=CertError.code)
    if b64url_encode(cert.aik_pub) != keys.aik_pub:
        raise DirectoryRefused.of(CertError("certificate does not name the member's current key"))
    if cert.role != subject.role:
        raise DirectoryRefused.of(CertError("certificate names another role than the member's"))
    aik_id = b64url_encode(cert.aik_id)
    if MemberCertificate.objects.filter(
        practice=practice, user=subject.user, aik_id=aik_id, role=cert.role
    ).exists():
        raise DirectoryRefused(409, "This member already has that certificate.")
    directory = crypto_directory(practice)
    try:
        check_cert_upload(cert, directory)
        if cert.issuer_kind == "member":
            # The chain check looks at the issuer's certificate as of the subject's valid_from,
            # which the signer chooses: at upload the issuer's AIK must also be valid now, so a
            # revoked (leaked) therapist key cannot certify anyone with a backdated certificate.
            directory.certified_aik(actor.user_id, cert.issuer_key_id, at=now_ms())
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None
    if prsk_wrap is not None and not (cert.issuer_kind == "prsk" and cert.role in ADMIN_ROLES):
        raise DirectoryRefused(400, "A PRSK wrap goes only with an owner's or admin's certificate.")
    row = MemberCertificate.objects.create(
        practice=practice,
        user=subject.user,
        role=cert.role,
        aik_pub=keys.aik_pub,
        aik_id=aik_id,
        valid_from=cert.valid_from,
        reason=cert.reason,
        issuer_kind=cert.issuer_kind,
        issuer_key_id=b64url_encode(cert.issuer_key_id),
        envelope=envelope_text(cert_raw),
        uploaded_by=actor.user,
    )
    _record(
        "cert.issued", actor, subject, "certificate", str(row.pk),
        origin=origin, reason=cert.reason,
    )  # fmt: skip
    if revocation_raw is not None:
        rev = _decode_revocation(revocation_raw, practice)
        if rev.user_id != subject.user_id or rev.aik_id == cert.aik_id:
            raise DirectoryRefused.of(CertError("the revocation must be of the member's old key"))
        _store_revocation(
            rev, revocation_raw, actor=actor, subject=subject, directory=directory, origin=origin
        )
    if prsk_wrap is not None:
        store_prsk_wrap(actor, subject, keys, prsk_wrap, origin)
    return row


def may_revoke(actor: Membership, subject: Membership, aik_id: str) -> bool:
    """Owners and admins revoke anyone; a therapist only the certificates their own certified
    AIK issued (the member issuer of §6.3)."""
    if actor.role in ADMIN_ROLES:
        return True
    if actor.role != Role.THERAPIST:
        return False
    issued_by = set(
        MemberCertificate.objects.filter(
            practice=actor.practice, user=subject.user, aik_id=aik_id, issuer_kind="member"
        ).values_list("issuer_key_id", flat=True)
    )
    return bool(issued_by & _own_prsk_aik_ids(actor))


@transaction.atomic
def revoke_certificate(
    actor: Membership, revocation_raw: dict[str, Any], origin: Origin | None = None
) -> MemberRevocationRecord:
    practice = actor.practice
    rev = _decode_revocation(revocation_raw, practice)
    subject = _subject(practice, rev.user_id)  # a removed member's keys may still be revoked
    if subject is None or not may_revoke(actor, subject, b64url_encode(rev.aik_id)):
        raise DirectoryRefused(404, "Nothing was found here.")
    return _store_revocation(
        rev, revocation_raw, actor=actor, subject=subject,
        directory=crypto_directory(practice), origin=origin,
    )  # fmt: skip
