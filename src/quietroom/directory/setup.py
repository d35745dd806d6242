"""Practice set-up (crypto-protocol §6.1, docs/api/keys.md "Practice set-up").

The owner's browser makes the PRK, PRSK and account keys, prints the recovery sheet and signs the
first config and the owner's certificate; this module checks all of it with `quietroom.crypto`
and creates the practice, the owner and their keys in one transaction, using up the link. The
server never sees a seed, a password or a private key: only the authKey (which allauth hashes),
public keys, signatures and what the browser sealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.accounts.prelogin import find_account, normalize_email
from quietroom.accounts.validators import is_auth_key
from quietroom.audit.services import Origin, record_event
from quietroom.crypto import envelope
from quietroom.crypto.encoding import b64url_encode, is_uuid7, sha256
from quietroom.crypto.errors import CertError, CryptoError
from quietroom.crypto.practice import Directory, MemberCert, PracticeConfig
from quietroom.crypto.server_checks import check_cert_upload, check_config_upload
from quietroom.directory.models import MemberCertificate, PracticeConfigVersion
from quietroom.directory.services import (
    DirectoryRefused,
    envelope_text,
    store_prsk_wrap,
)
from quietroom.keys import services as key_services
from quietroom.keys.models import AccountKeys
from quietroom.keys.schemas import AccountKeysIn
from quietroom.practices.models import Membership, Practice, Role, SetupLink
from quietroom.practices.services import hash_token


@dataclass(frozen=True)
class SetupRequest:
    token: str
    practice_id: UUID
    practice_name: str
    owner_id: UUID
    email: str
    display_name: str
    auth_key: str
    config: dict[str, Any]
    keys: AccountKeysIn
    cert: dict[str, Any]
    prsk_wrap: str


class SetupGone(Exception):  # noqa: N818 - a state, not a fault
    """The link is unknown, expired, revoked or used: the API answers 404, whichever it is."""


def _usable_link(token: str, *, lock: bool = False) -> SetupLink | None:
    links = SetupLink.objects.filter(
        token_hash=hash_token(token),
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if lock:
        links = links.select_for_update()
    return links.first()


def link_usable(token: str) -> bool:
    """`POST /api/setup/check`: usable while unused, unexpired, and no practice exists yet."""
    return _usable_link(token) is not None and not Practice.objects.exists()


def _refuse(message: str) -> DirectoryRefused:
    return DirectoryRefused(400, message)


def _check_fields(req: SetupRequest) -> str:
    """The plain field checks; returns the normalised email."""
    if not is_uuid7(req.practice_id) or not is_uuid7(req.owner_id):
        raise _refuse("The practice and owner ids must be UUIDv7 made by the browser.")
    name = req.practice_name
    if not name.strip() or len(name) > 200 or name != name.strip():
        raise _refuse("Enter the practice's name (at most 200 characters).")
    if not req.display_name.strip() or len(req.display_name) > 120:
        raise _refuse("Enter your name (at most 120 characters).")
    email = normalize_email(req.email)
    try:
        validate_email(email)
    except ValidationError:
        raise _refuse("Enter a valid email address.") from None
    if not is_auth_key(req.auth_key):
        # The message never echoes the value: it may be a password typed by mistake.
        raise _refuse("The password must be the key your browser derives from it.")
    return email


def _check_config(req: SetupRequest) -> PracticeConfig:
    try:
        config = envelope.decode_config_obj(req.config)
        if config.practice_id != req.practice_id:
            raise CertError("config for another practice")
        if config.seq != 1:
            raise CertError("the first config must have seq 1")
        if config.name != req.practice_name:
            raise CertError("config names another practice name")
        # Signed by its own PRSK (the one the owner's browser pins), genesis of the chain.
        check_config_upload(None, config, config.prsk_pub)
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None
    return config


def _check_cert(req: SetupRequest, config: PracticeConfig) -> MemberCert:
    try:
        cert = envelope.decode_cert_obj(req.cert)
        bundle = envelope.decode_bundle_obj(req.keys.bundle)
        if (cert.practice_id, cert.user_id) != (req.practice_id, req.owner_id):
            raise CertError("certificate names another practice or person")
        if (cert.role, cert.reason, cert.issuer_kind) != ("owner", "enrolled", "prsk"):
            raise CertError("the owner's certificate is role owner, enrolled, PRSK-issued")
        if cert.aik_pub != bundle.aik_pub:
            raise CertError("certificate does not name the owner's AIK")
        check_cert_upload(cert, Directory(req.practice_id, config.prsk_pub))
    except CryptoError as exc:
        raise DirectoryRefused.of(exc) from None
    return cert


def _store_keys(user: User, practice: Practice, keys: AccountKeysIn, origin: Origin) -> AccountKeys:
    """The same checks and storage as `PUT /api/keys/account` (quietroom.keys)."""
    try:
        return key_services.store_initial_keys(user, practice, keys, origin=origin)
    except (key_services.KeysRejected, key_services.KeysConflict) as exc:
        if exc.code.startswith("E_"):
            raise DirectoryRefused(400, exc.message, crypto=exc.code) from None
        raise DirectoryRefused(400, exc.message) from None


@transaction.atomic
def create_practice(req: SetupRequest, origin: Origin) -> tuple[Practice, User]:
    """All of set-up, or nothing: every refusal raises before commit, so the transaction rolls
    back whatever was written."""
    link = _usable_link(req.token, lock=True)
    if link is None:
        raise SetupGone
    if Practice.objects.exists():
        raise DirectoryRefused(409, "This server already has its practice.")
    email = _check_fields(req)
    config = _check_config(req)
    cert = _check_cert(req, config)
    if User.objects.filter(pk=req.owner_id).exists() or find_account(email) is not None:
        raise DirectoryRefused(409, "That id or email address is already in use.")

    user = User.objects.create_user(
        email, password=req.auth_key, id=req.owner_id, display_name=req.display_name.strip()
    )  # the post_save receiver fixes the prelogin salt for this email (§3.1)
    # Whoever holds the set-up link runs the server, so the owner's address counts as verified.
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    practice = Practice.objects.create(id=req.practice_id, name=req.practice_name)
    owner = Membership.objects.create(practice=practice, user=user, role=Role.OWNER)
    owner = Membership.objects.select_related("practice", "user").get(pk=owner.pk)
    record_event(
        action="practice.created",
        actor=user,
        actor_role=Role.OWNER,
        practice=practice,
        object_type="practice",
        object_id=str(practice.id),
        origin=origin,
    )
    record_event(
        action="auth.signup",
        actor=user,
        actor_role=Role.OWNER,
        practice=practice,
        object_type="user",
        object_id=str(user.id),
        reason="practice set-up",
        origin=origin,
    )
    PracticeConfigVersion.objects.create(
        practice=practice,
        seq=1,
        prsk_pub=b64url_encode(config.prsk_pub),
        prk_pub=b64url_encode(config.prk_pub),
        prk_id=b64url_encode(config.prk_id),
        msg_hash=b64url_encode(sha256(config.message())),
        envelope=envelope_text(req.config),
    )
    keys = _store_keys(user, practice, req.keys, origin)
    row = MemberCertificate.objects.create(
        practice=practice,
        user=user,
        role=cert.role,
        aik_pub=keys.aik_pub,
        aik_id=b64url_encode(cert.aik_id),
        valid_from=cert.valid_from,
        reason=cert.reason,
        issuer_kind=cert.issuer_kind,
        issuer_key_id=b64url_encode(cert.issuer_key_id),
        envelope=envelope_text(req.cert),
        uploaded_by=user,
    )
    record_event(
        action="cert.issued",
        actor=user,
        actor_role=Role.OWNER,
        practice=practice,
        object_type="certificate",
        object_id=str(row.pk),
        reason=cert.reason,
        origin=origin,
    )
    store_prsk_wrap(owner, owner, keys, req.prsk_wrap, origin)
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return practice, user
