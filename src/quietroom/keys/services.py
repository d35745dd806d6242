"""Account keys on the server (crypto-protocol.md §4, §5, §9, §10; docs/api/keys.md).

The server cannot open anything stored here. What it can do, and does before writing a row, is
check every signature, chain and binding with `quietroom.crypto`, so that a malicious or buggy
client (or an attacker with a session) cannot plant keys or lists that other people's browsers
would then have to reject. Every write is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from quietroom.accounts.models import KdfParams as StoredKdf
from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_event
from quietroom.crypto import envelope
from quietroom.crypto.account import AekBind as AekBindObj
from quietroom.crypto.account import Bundle
from quietroom.crypto.devices import DeviceList
from quietroom.crypto.encoding import b64url_decode, b64url_encode, sha256
from quietroom.crypto.errors import CryptoError, EncodingError
from quietroom.crypto.keys import NONCE_LEN, TAG_LEN, WRAP_LEN, kid, x25519_public
from quietroom.crypto.password import KdfParams
from quietroom.crypto.recovery import verify_record
from quietroom.crypto.server_checks import check_aek_bind_upload, check_device_list_upload
from quietroom.directory.models import PracticeConfigVersion, PrskWrap
from quietroom.keys.models import (
    AccountKeys,
    AekBind,
    DeviceListVersion,
    DevWrap,
    PasswordWrap,
    RecoveryRequest,
)
from quietroom.keys.schemas import AccountKeysIn, DevWrapIn, KdfIn
from quietroom.practices.models import Membership, Practice, Role

PW_WRAP_LEN: Final = NONCE_LEN + 32 + TAG_LEN  # AEAD(KEK, UK): nonce, 32-byte UK, tag
AEK_PKCS8_LEN: Final = 48
HPKE_AEK_LEN: Final = 32 + AEK_PKCS8_LEN + TAG_LEN  # enc, sealed AEK PKCS#8, tag
RECORD_MAX_SKEW: Final = timedelta(minutes=10)
SESSION_BINDING_KEY: Final = "qr_keys_binding"


class KeysRejected(Exception):  # noqa: N818 - the name the API contract uses
    """Input that fails a check; nothing was written. `code` is the protocol error code
    (`E_SIG`, `E_CHAIN`, …) when a crypto check failed, else `bad_request`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class KeysConflict(Exception):  # noqa: N818
    """The request is well-formed but the account is not in a state that allows it (409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class KeysNotFound(Exception):  # noqa: N818
    """Not there, or not the caller's: the API answers the same 404 for both."""


@contextmanager
def _crypto() -> Iterator[None]:
    try:
        yield
    except CryptoError as exc:
        raise KeysRejected(exc.code, exc.message) from None


def _b64(value: str, length: int, what: str) -> bytes:
    try:
        return b64url_decode(value, length)
    except EncodingError:
        raise KeysRejected("E_ENCODING", f"{what} must be {length} bytes of base64url") from None


def _kdf(kdf: KdfIn) -> KdfParams:
    with _crypto():
        return KdfParams(kdf.m, kdf.t, kdf.p).check()


def _stored_kdf(user: User) -> StoredKdf:
    row = StoredKdf.objects.filter(user=user).first()
    if row is None:  # every account gets one at creation (accounts.signals)
        raise KeysRejected("bad_request", "this account has no password parameters")
    return row


def _membership(user: User, practice: Practice) -> Membership | None:
    return Membership.objects.filter(user=user, practice=practice, removed_at__isnull=True).first()


def _audit(
    action: str,
    user: User,
    practice: Practice,
    origin: Origin | None,
    *,
    object_type: str = "account_keys",
    object_id: str = "",
    reason: str = "",
    subject: User | None = None,
) -> None:
    """One audit row; `client` names the affected person when they are a client, so their
    practice's reviewers and the client themself see it."""
    affected = subject or user
    actor_membership = _membership(user, practice)
    affected_membership = actor_membership if affected == user else _membership(affected, practice)
    client = (
        affected_membership
        if affected_membership is not None and affected_membership.role == Role.CLIENT
        else None
    )
    record_event(
        action=action,
        actor=user,
        actor_role=actor_membership.role if actor_membership else "",
        practice=practice,
        client=client,
        object_type=object_type,
        object_id=object_id or str(affected.id),
        reason=reason,
        origin=origin,
    )


def current_config(practice: Practice) -> PracticeConfigVersion | None:
    return PracticeConfigVersion.objects.filter(practice=practice).order_by("-seq").first()


def session_binding(request: HttpRequest, *, create: bool = False) -> str:
    """SHA-256 of a random token kept in this session's server-side data, to bind a pending
    pw_wrap to the session (§9.1). A token rather than the session key: allauth cycles the
    key during the password change itself, and the key must never be stored anyway."""
    token = request.session.get(SESSION_BINDING_KEY)
    if not isinstance(token, str):
        if not create:
            return ""
        token = secrets.token_urlsafe(32)
        request.session[SESSION_BINDING_KEY] = token
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# -- checking an AccountKeysIn ---------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    kdf: KdfParams
    pw_wrap: bytes
    bundle: Bundle
    aek_bind: AekBindObj
    rec_escrow_prk_id: str
    rec_escrow_ct: bytes
    device_list: DeviceList
    dev_wrap: tuple[uuid.UUID, bytes] | None


def _latest_list(user: User) -> DeviceListVersion | None:
    return DeviceListVersion.objects.filter(user=user).order_by("-seq").first()


def _decode_list(row: DeviceListVersion) -> DeviceList:
    return envelope.decode_device_list(row.envelope.encode("utf-8"))


def _check_keys(
    user: User,
    practice: Practice,
    keys: AccountKeysIn,
    *,
    ver: int,
    previous_list: DeviceList | None,
    aek_pub: bytes | None,
) -> _Checked:
    config = current_config(practice)
    if config is None:
        raise KeysRejected("bad_request", "the practice has no key configuration yet")
    kdf = _kdf(keys.kdf)
    pw_wrap = _b64(keys.pw_wrap, PW_WRAP_LEN, "pw_wrap")
    with _crypto():
        bundle = envelope.decode_bundle_obj(keys.bundle)
        bind = envelope.decode_aek_bind_obj(keys.aek_bind)
        device_list = envelope.decode_device_list_obj(keys.device_list)
    if bundle.user_id != user.id or bind.user_id != user.id or device_list.user_id != user.id:
        raise KeysRejected("E_CERT", "the keys name another user")
    if bundle.ver != ver or bind.ver != ver:
        raise KeysRejected("E_CHAIN", f"bundle and aek_bind must have ver {ver}")
    if bind.aek_pub != bundle.aek_pub:
        raise KeysRejected("E_CERT", "aek_bind names another AEK than the bundle")
    if aek_pub is not None and bundle.aek_pub != aek_pub:
        raise KeysRejected("E_CERT", "recovery must keep the account's AEK")
    with _crypto():
        x25519_public(bundle.aek_pub)  # refuses a low-order point nobody could seal to
        check_aek_bind_upload(
            bind, user_id=user.id, aik_pub=bundle.aik_pub, previous_ver=ver - 1 if ver > 1 else None
        )
    if keys.rec_escrow.prk_id != config.prk_id:
        raise KeysRejected("E_WRAP", "rec_escrow is not sealed to the practice's current PRK")
    escrow = _b64(keys.rec_escrow.ct, HPKE_AEK_LEN, "rec_escrow.ct")
    if device_list.aik_id != kid("ed25519", bundle.aik_pub):
        raise KeysRejected("E_SIG", "the device list is not signed by the bundle's AIK")
    with _crypto():
        check_device_list_upload(previous_list, device_list, bundle.aik_pub)
    if previous_list is None and (len(device_list.entries) != 1 or device_list.entries[0].revoked):
        raise KeysRejected("E_SCHEMA", "the first device list holds this one active device")
    if not any(not e.revoked for e in device_list.entries):
        raise KeysRejected("E_SCHEMA", "the device list has no active device")
    dev_wrap = _check_dev_wrap(keys.dev_wrap, device_list) if keys.dev_wrap else None
    return _Checked(kdf, pw_wrap, bundle, bind, config.prk_id, escrow, device_list, dev_wrap)


def _check_dev_wrap(wrap: DevWrapIn, device_list: DeviceList) -> tuple[uuid.UUID, bytes]:
    entry = device_list.entry(wrap.device_id)
    if entry is None or entry.revoked:
        raise KeysRejected("bad_request", "dev_wrap is for a device that is not active")
    return wrap.device_id, _b64(wrap.ct, WRAP_LEN, "dev_wrap.ct")


def _text(obj: dict[str, Any]) -> str:
    return envelope.dumps(obj).decode("utf-8")


def _write_list(user: User, device_list: DeviceList, raw: dict[str, Any]) -> None:
    DeviceListVersion.objects.create(
        user=user,
        seq=device_list.seq,
        aik_id=b64url_encode(device_list.aik_id),
        msg_hash=b64url_encode(sha256(device_list.message())),
        envelope=_text(raw),
    )


def _write_dev_wrap(user: User, device_id: uuid.UUID, ct: bytes) -> None:
    DevWrap.objects.update_or_create(
        user=user, device_id=device_id, defaults={"ct": b64url_encode(ct)}
    )


# -- account keys (§4) -----------------------------------------------------------------------


@transaction.atomic
def store_initial_keys(
    user: User, practice: Practice, keys: AccountKeysIn, *, origin: Origin | None
) -> AccountKeys:
    """First keys of an account (pw_wrap ver 1, bundle/aek_bind ver 1, device list seq 1).
    Raises KeysRejected (nothing written) or KeysConflict when keys exist already."""
    if AccountKeys.objects.select_for_update().filter(user=user).exists():
        raise KeysConflict("conflict", "This account has keys already.")
    checked = _check_keys(user, practice, keys, ver=1, previous_list=None, aek_pub=None)
    stored = _stored_kdf(user)
    if (stored.m, stored.t, stored.p) != (checked.kdf.m, checked.kdf.t, checked.kdf.p):
        raise KeysRejected("E_KDF_PARAMS", "kdf differs from this account's prelogin parameters")
    bundle = checked.bundle
    try:
        account = AccountKeys.objects.create(
            user=user,
            practice=practice,
            ver=1,
            aik_pub=b64url_encode(bundle.aik_pub),
            aik_id=b64url_encode(kid("ed25519", bundle.aik_pub)),
            aek_pub=b64url_encode(bundle.aek_pub),
            aek_id=b64url_encode(kid("x25519", bundle.aek_pub)),
            bundle=_text(keys.bundle),
            rec_escrow=b64url_encode(checked.rec_escrow_ct),
            rec_escrow_prk_id=checked.rec_escrow_prk_id,
        )
    except IntegrityError:  # a concurrent first upload won
        raise KeysConflict("conflict", "This account has keys already.") from None
    AekBind.objects.create(user=user, aik_id=account.aik_id, ver=1, envelope=_text(keys.aek_bind))
    _new_pw_wrap(user, 1, checked.kdf, checked.pw_wrap, confirmed=True)
    _write_list(user, checked.device_list, keys.device_list)
    if checked.dev_wrap is not None:
        _write_dev_wrap(user, *checked.dev_wrap)
    _audit("keys.created", user, practice, origin, object_id=account.aik_id)
    return account


def _new_pw_wrap(
    user: User,
    ver: int,
    kdf: KdfParams,
    ct: bytes,
    *,
    confirmed: bool = False,
    pending_binding: str = "",
) -> PasswordWrap:
    return PasswordWrap.objects.create(
        user=user,
        ver=ver,
        m=kdf.m,
        t=kdf.t,
        p=kdf.p,
        ct=b64url_encode(ct),
        state=PasswordWrap.State.PENDING if pending_binding else PasswordWrap.State.ACTIVE,
        session_key_hash=pending_binding,
        confirmed=confirmed,
    )


KeysState = Literal["none", "ready", "locked"]


def keys_state(user: User) -> KeysState:
    """ "none", "ready" or "locked" (for GET /api/session)."""
    locked = AccountKeys.objects.filter(user=user).values_list("keys_locked", flat=True).first()
    if locked is None:
        return "none"
    return "locked" if locked else "ready"


def _kdf_out(m: int, t: int, p: int) -> dict[str, Any]:
    return {"alg": "argon2id", "m": m, "t": t, "p": p}


def _loads(text: str) -> Any:
    return envelope.loads(text.encode("utf-8"))


def account_keys_out(user: User, device_id: uuid.UUID | None) -> dict[str, Any]:
    """The AccountKeysOut JSON (own keys only). Raises KeysNotFound when none exist yet."""
    account = AccountKeys.objects.filter(user=user).first()
    if account is None:
        raise KeysNotFound
    active = list(
        PasswordWrap.objects.filter(user=user, state=PasswordWrap.State.ACTIVE).order_by("-ver")
    )
    current, older = active[0], active[1:]
    stored = _stored_kdf(user)
    dev_wrap = None
    if device_id is not None:
        dev_wrap = (
            DevWrap.objects.filter(user=user, device_id=device_id).values_list("ct", flat=True)
        ).first()
    prsk_wrap = (
        PrskWrap.objects.filter(practice=account.practice, user=user, aek_id=account.aek_id)
        .values_list("ct", flat=True)
        .first()
    )
    return {
        "user_id": str(user.id),
        "practice_id": str(account.practice_id),
        "salt": stored.salt,
        "kdf": _kdf_out(stored.m, stored.t, stored.p),
        "pw_wrap": {
            "ver": current.ver,
            "ct": current.ct,
            "kdf": _kdf_out(current.m, current.t, current.p),
            "confirmed": current.confirmed,
        },
        "older_pw_wraps": [
            {"ver": w.ver, "ct": w.ct, "kdf": _kdf_out(w.m, w.t, w.p)} for w in older
        ],
        "bundle": _loads(account.bundle),
        "aek_binds": [
            _loads(e)
            for e in AekBind.objects.filter(user=user)
            .order_by("ver")
            .values_list("envelope", flat=True)
        ],
        "keys_locked": account.keys_locked,
        "device_lists": [
            _loads(e)
            for e in DeviceListVersion.objects.filter(user=user)
            .order_by("seq")
            .values_list("envelope", flat=True)
        ],
        "dev_wrap": dev_wrap,
        "prsk_wrap": prsk_wrap,
    }


def _locked_account(user: User) -> AccountKeys:
    """The caller's keys row, locked for this transaction, so concurrent key changes queue."""
    account = AccountKeys.objects.select_for_update().filter(user=user).first()
    if account is None:
        raise KeysNotFound
    return account


# -- password wrap (§9.1, §10.1) --------------------------------------------------------------


def _top_ver(user: User) -> int:
    top = (
        PasswordWrap.objects.filter(user=user, state=PasswordWrap.State.ACTIVE)
        .order_by("-ver")
        .values_list("ver", flat=True)
        .first()
    )
    return top or 0


@transaction.atomic
def put_pending_pw_wrap(
    user: User, binding: str, *, ver: int, kdf: KdfIn, ct: str, origin: Origin | None
) -> PasswordWrap:
    """§9.1 step 2 / §10.1 step 3: a new wrap of the same UK, pending until a password change
    (or, with locked keys, a confirm) activates it. Replaces any earlier pending wrap."""
    account = _locked_account(user)
    params = _kdf(kdf)
    sealed = _b64(ct, PW_WRAP_LEN, "ct")
    expected = _top_ver(user) + 1
    if ver != expected:
        raise KeysRejected("E_CHAIN", f"ver must be {expected}")
    if account.keys_locked:
        # After a reset the login key was derived with the stored parameters; a wrap under
        # others would not open with the password that now signs in.
        stored = _stored_kdf(user)
        if (stored.m, stored.t, stored.p) != (params.m, params.t, params.p):
            raise KeysRejected("E_KDF_PARAMS", "while keys are locked, kdf must stay the same")
    PasswordWrap.objects.filter(user=user, state=PasswordWrap.State.PENDING).delete()
    wrap = _new_pw_wrap(user, ver, params, sealed, pending_binding=binding)
    _audit("keys.pw_wrap.pending", user, account.practice, origin, object_id=str(ver))
    return wrap


class NoPendingWrapError(Exception):
    """A password change without this session's pending wrap: refused, so the change rolls
    back and the keys stay openable (§9.1 step 4)."""


def has_pending_wrap(user: User, binding: str) -> bool:
    if not AccountKeys.objects.filter(user=user).exists():
        return True  # no keys to re-wrap: nothing can be lost
    return (
        bool(binding)
        and PasswordWrap.objects.filter(
            user=user, state=PasswordWrap.State.PENDING, session_key_hash=binding
        ).exists()
    )


def activate_on_password_change(user: User, binding: str, origin: Origin | None) -> None:
    """The password_changed receiver's work, in allauth's (atomic) change: activate this
    session's pending wrap and adopt its KDF parameters. Raises NoPendingWrapError."""
    account = AccountKeys.objects.select_for_update().filter(user=user).first()
    if account is None:
        return  # an account without keys has no wrap to keep in step
    wrap = (
        PasswordWrap.objects.select_for_update()
        .filter(user=user, state=PasswordWrap.State.PENDING, session_key_hash=binding)
        .first()
        if binding
        else None
    )
    if wrap is None:
        raise NoPendingWrapError
    wrap.state = PasswordWrap.State.ACTIVE
    wrap.session_key_hash = ""
    wrap.confirmed = False
    wrap.save(update_fields=["state", "session_key_hash", "confirmed"])
    StoredKdf.objects.filter(user=user).update(m=wrap.m, t=wrap.t, p=wrap.p)
    _audit("keys.pw_wrap.activated", user, account.practice, origin, object_id=str(wrap.ver))


def lock_on_password_reset(user: User, origin: Origin | None) -> None:
    """§9.2: a reset restores sign-in only; the keys wait for §10 recovery. Pending wraps of
    earlier sessions are dropped: none of them may now activate without a new confirm."""
    account = AccountKeys.objects.select_for_update().filter(user=user).first()
    if account is None:
        return
    account.keys_locked = True
    account.save(update_fields=["keys_locked", "updated_at"])
    PasswordWrap.objects.filter(user=user, state=PasswordWrap.State.PENDING).delete()
    _audit("keys.locked", user, account.practice, origin, reason="password reset")


@transaction.atomic
def confirm_pw_wrap(user: User, binding: str, ver: int, origin: Origin | None) -> dict[str, Any]:
    """§9.1 step 5 / §10.1: the browser opened wrap `ver`. Older wraps go; with locked keys,
    this session's pending wrap is activated here and the lock is cleared."""
    account = _locked_account(user)
    wrap = PasswordWrap.objects.select_for_update().filter(user=user, ver=ver).first()
    if wrap is None:
        raise KeysNotFound
    if wrap.state == PasswordWrap.State.PENDING:
        if not account.keys_locked:
            raise KeysConflict(
                "pw_wrap_pending", "This wrap becomes active with the password change."
            )
        if not binding or wrap.session_key_hash != binding:
            raise KeysNotFound  # another session's upload: not this caller's to confirm
        wrap.state = PasswordWrap.State.ACTIVE
        wrap.session_key_hash = ""
        account.keys_locked = False
        account.save(update_fields=["keys_locked", "updated_at"])
        _cancel_open_requests(user)
    elif wrap.ver != _top_ver(user):
        raise KeysConflict("pw_wrap_superseded", "A newer wrap exists; confirm that one.")
    wrap.confirmed = True
    wrap.save(update_fields=["state", "session_key_hash", "confirmed"])
    PasswordWrap.objects.filter(user=user, ver__lt=wrap.ver).delete()
    _audit("keys.pw_wrap.confirmed", user, account.practice, origin, object_id=str(ver))
    return account_keys_out(user, None)


# -- devices (§5) ------------------------------------------------------------------------------


@transaction.atomic
def publish_device_list(
    user: User,
    raw_list: dict[str, Any],
    dev_wrap: DevWrapIn | None,
    origin: Origin | None,
) -> None:
    """§5.3/§5.4: the next signed list under the current AIK. Devices it newly revokes lose
    their dev_wrap in this transaction."""
    account = _locked_account(user)
    previous_row = _latest_list(user)
    if previous_row is None:  # every account gets its first list with its keys
        raise KeysNotFound
    previous = _decode_list(previous_row)
    with _crypto():
        new = envelope.decode_device_list_obj(raw_list)
        check_device_list_upload(previous, new, b64url_decode(account.aik_pub, 32))
    if new.user_id != user.id:
        raise KeysRejected("E_CHAIN", "device list for another user")
    wrap = _check_dev_wrap(dev_wrap, new) if dev_wrap is not None else None
    try:
        with transaction.atomic():
            _write_list(user, new, raw_list)
    except IntegrityError:  # a concurrent publish took this seq
        raise KeysRejected("E_CHAIN", f"seq {new.seq} exists already") from None
    added = [e for e in new.entries if previous.entry(e.device_id) is None]
    revoked = [e for e in new.entries if e.revoked and not _was_revoked(previous, e.device_id)]
    if revoked:
        DevWrap.objects.filter(user=user, device_id__in=[e.device_id for e in revoked]).delete()
    for entry in added:
        _audit("device.added", user, account.practice, origin, object_type="device",
               object_id=str(entry.device_id))  # fmt: skip
    for entry in revoked:
        _audit("device.revoked", user, account.practice, origin, object_type="device",
               object_id=str(entry.device_id))  # fmt: skip
    if not added and not revoked:
        _audit("device.list.published", user, account.practice, origin,
               object_type="device_list", object_id=str(new.seq))  # fmt: skip
    if wrap is not None:
        _write_dev_wrap(user, *wrap)
        _audit("device.remembered", user, account.practice, origin, object_type="device",
               object_id=str(wrap[0]))  # fmt: skip


def _was_revoked(previous: DeviceList, device_id: uuid.UUID) -> bool:
    entry = previous.entry(device_id)
    return entry is not None and entry.revoked


def device_lists(user: User) -> list[Any]:
    return [
        _loads(e)
        for e in DeviceListVersion.objects.filter(user=user)
        .order_by("seq")
        .values_list("envelope", flat=True)
    ]


@transaction.atomic
def put_dev_wrap(user: User, device_id: uuid.UUID, ct: str, origin: Origin | None) -> None:
    account = _locked_account(user)
    latest = _latest_list(user)
    entry = _decode_list(latest).entry(device_id) if latest is not None else None
    if entry is None or entry.revoked:
        raise KeysNotFound
    _write_dev_wrap(user, device_id, _b64(ct, WRAP_LEN, "ct"))
    _audit("device.remembered", user, account.practice, origin, object_type="device",
           object_id=str(device_id))  # fmt: skip


@transaction.atomic
def delete_dev_wrap(user: User, device_id: uuid.UUID, origin: Origin | None) -> None:
    account = _locked_account(user)
    DevWrap.objects.filter(user=user, device_id=device_id).delete()
    _audit("device.forgotten", user, account.practice, origin, object_type="device",
           object_id=str(device_id))  # fmt: skip


# -- recovery (§10.2) --------------------------------------------------------------------------


def _open_requests(user: User) -> Any:
    return RecoveryRequest.objects.filter(
        user=user, completed_at__isnull=True, cancelled_at__isnull=True
    )


def _cancel_open_requests(user: User) -> None:
    _open_requests(user).update(cancelled_at=timezone.now())


@transaction.atomic
def create_recovery_request(user: User, t_pub: str, origin: Origin | None) -> RecoveryRequest:
    account = _locked_account(user)
    if not account.keys_locked:
        raise KeysConflict("keys_not_locked", "Recovery is for accounts whose keys are locked.")
    raw = _b64(t_pub, 32, "t_pub")
    with _crypto():
        x25519_public(raw)
    _cancel_open_requests(user)
    request = RecoveryRequest.objects.create(user=user, practice=account.practice, t_pub=t_pub)
    _audit("recovery.requested", user, account.practice, origin, object_type="recovery_request",
           object_id=str(request.id))  # fmt: skip
    return request


def _status(request: RecoveryRequest) -> str:
    if request.cancelled_at is not None:
        return "cancelled"
    if request.completed_at is not None:
        return "completed"
    return "transferred" if request.transferred_at is not None else "waiting"


def recovery_status(user: User, request_id: uuid.UUID) -> dict[str, Any]:
    request = RecoveryRequest.objects.filter(pk=request_id, user=user).first()
    if request is None:
        raise KeysNotFound
    status = _status(request)
    transfer = None
    if status == "transferred":
        aek_pub = AccountKeys.objects.values_list("aek_pub", flat=True).get(user=user)
        transfer = {"ct": request.transfer_ct, "aek_pub": aek_pub}
    return {"id": str(request.id), "status": status, "transfer": transfer}


def admin_membership(user: User, practice_id: uuid.UUID) -> Membership | None:
    if not user.is_active:
        return None
    return (
        Membership.objects.select_related("practice")
        .filter(
            user=user,
            practice_id=practice_id,
            removed_at__isnull=True,
            role__in=[Role.OWNER, Role.ADMIN],
        )
        .first()
    )


@transaction.atomic
def recovery_requests_for_admin(
    user: User, practice_id: uuid.UUID, origin: Origin | None
) -> list[dict[str, Any]]:
    """Open (waiting) requests of the practice's active members, for its owners and admins.
    Audited, as it shows other people's escrows."""
    membership = admin_membership(user, practice_id)
    if membership is None:
        raise KeysNotFound
    requests = (
        RecoveryRequest.objects.select_related("user")
        .filter(
            practice_id=practice_id,
            completed_at__isnull=True,
            cancelled_at__isnull=True,
            transferred_at__isnull=True,
            user__memberships__practice_id=practice_id,
            user__memberships__removed_at__isnull=True,
        )
        .exclude(user=user)
        .order_by("created_at")
    )
    out = []
    for request in requests:
        account = AccountKeys.objects.get(user=request.user)
        member = _membership(request.user, account.practice)
        out.append(
            {
                "id": str(request.id),
                "user_id": str(request.user_id),
                "display_name": request.user.display_name,
                "role": member.role if member else "",
                "t_pub": request.t_pub,
                "created_at": request.created_at.isoformat(),
                "aek_pub": account.aek_pub,
                "rec_escrow": {"prk_id": account.rec_escrow_prk_id, "ct": account.rec_escrow},
            }
        )
    _audit("recovery.requests.read", user, membership.practice, origin,
           object_type="practice", object_id=str(practice_id),
           reason=f"count={len(out)}")  # fmt: skip
    return out


def recovery_status_for_admin(request_id: uuid.UUID) -> dict[str, Any]:
    request = RecoveryRequest.objects.get(pk=request_id)
    return {"id": str(request.id), "status": _status(request)}


@transaction.atomic
def transfer_recovery(
    admin: User,
    practice_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    ct: str,
    at: int,
    method: str,
    sig: str,
    origin: Origin | None,
) -> None:
    """§10.2 step 4: store the AEK sealed to the user's T, with the admin's signed record.
    The caller has checked the recent re-authentication."""
    membership = admin_membership(admin, practice_id)
    if membership is None:
        raise KeysNotFound
    request = (
        RecoveryRequest.objects.select_for_update()
        .filter(
            pk=request_id,
            practice_id=practice_id,
            completed_at__isnull=True,
            cancelled_at__isnull=True,
            transferred_at__isnull=True,
        )
        .exclude(user=admin)
        .first()
    )
    if request is None or _membership(request.user, membership.practice) is None:
        raise KeysNotFound
    admin_keys = AccountKeys.objects.filter(user=admin, keys_locked=False).first()
    if admin_keys is None:
        raise KeysConflict("keys_required", "Unlock your own keys before running a recovery.")
    target = AccountKeys.objects.get(user=request.user)
    aek_id = b64url_decode(target.aek_id, 16)
    sealed = _b64(ct, HPKE_AEK_LEN, "ct")
    signature = _b64(sig, 64, "sig")
    moment = timezone.now()
    if abs(moment.timestamp() * 1000 - at) > RECORD_MAX_SKEW.total_seconds() * 1000:
        raise KeysRejected("bad_request", "the record's time is not now")
    with _crypto():
        verify_record(
            b64url_decode(admin_keys.aik_pub, 32),
            signature,
            practice_id=practice_id,
            user_id=request.user_id,
            t_id=kid("x25519", b64url_decode(request.t_pub, 32)),
            aek_id=aek_id,
            at=at,
            method=method,
        )
    request.transfer_ct = b64url_encode(sealed)
    request.transfer_aek_id = target.aek_id
    request.record = _text({"at": at, "method": method, "sig": sig, "aik_id": admin_keys.aik_id})
    request.transferred_by = admin
    request.transferred_at = moment
    request.save()
    _audit("recovery.transferred", admin, membership.practice, origin,
           object_type="recovery_request", object_id=str(request.id), reason=f"method={method}",
           subject=request.user)  # fmt: skip


@transaction.atomic
def complete_recovery(
    user: User, request_id: uuid.UUID, keys: AccountKeysIn, origin: Origin | None
) -> dict[str, Any]:
    """§10.2 step 5: new UK, AIK, bundle (ver + 1) around the recovered AEK; the device list
    continues the old numbering under the new AIK. Old wraps and the PRSK wrap go."""
    account = _locked_account(user)
    request = (
        RecoveryRequest.objects.select_for_update()
        .filter(pk=request_id, user=user, completed_at__isnull=True, cancelled_at__isnull=True)
        .first()
    )
    if request is None:
        raise KeysNotFound
    if request.transferred_at is None:
        raise KeysConflict("not_transferred", "The practice has not sent the key yet.")
    if not account.keys_locked:
        raise KeysConflict("keys_not_locked", "These keys are not locked.")
    previous_row = _latest_list(user)
    previous = _decode_list(previous_row) if previous_row is not None else None
    checked = _check_keys(
        user,
        account.practice,
        keys,
        ver=account.ver + 1,
        previous_list=previous,
        aek_pub=b64url_decode(account.aek_pub, 32),
    )
    if b64url_encode(checked.bundle.aik_pub) == account.aik_pub:
        raise KeysRejected("E_CERT", "recovery makes a new AIK")
    stored = _stored_kdf(user)
    if (stored.m, stored.t, stored.p) != (checked.kdf.m, checked.kdf.t, checked.kdf.p):
        raise KeysRejected("E_KDF_PARAMS", "kdf differs from this account's parameters")
    pw_ver = _top_ver(user) + 1
    aik_pub = checked.bundle.aik_pub
    account.ver += 1
    account.aik_pub = b64url_encode(aik_pub)
    account.aik_id = b64url_encode(kid("ed25519", aik_pub))
    account.bundle = _text(keys.bundle)
    account.rec_escrow = b64url_encode(checked.rec_escrow_ct)
    account.rec_escrow_prk_id = checked.rec_escrow_prk_id
    account.keys_locked = False
    account.save()
    AekBind.objects.create(
        user=user, aik_id=account.aik_id, ver=account.ver, envelope=_text(keys.aek_bind)
    )
    PasswordWrap.objects.filter(user=user).delete()
    _new_pw_wrap(user, pw_ver, checked.kdf, checked.pw_wrap, confirmed=True)
    DevWrap.objects.filter(user=user).delete()
    PrskWrap.objects.filter(user=user).delete()
    _write_list(user, checked.device_list, keys.device_list)
    if checked.dev_wrap is not None:
        _write_dev_wrap(user, *checked.dev_wrap)
    request.completed_at = timezone.now()
    request.save(update_fields=["completed_at"])
    _audit("recovery.completed", user, account.practice, origin, object_type="recovery_request",
           object_id=str(request.id))  # fmt: skip
    return account_keys_out(user, None)
