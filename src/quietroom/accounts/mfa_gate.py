"""Staff need a second factor before they may use the API (docs/api/keys.md, "Gates"; AU-01).

A staff member (owner, admin, therapist) with no TOTP or WebAuthn authenticator gets
`403 mfa_required` from every `/api/` operation except the few the web client needs to enrol
a second factor and set up keys first. allauth's own endpoints (`/_allauth/`, where MFA is
enrolled) are outside `/api/` and stay open. Anonymous callers pass through to the API's 401.

Owners and admins must also hold a passkey (WebAuthn), the phishing-resistant factor: without
one, an owner or admin of the practice in the path gets `403 passkey_required` from the
operations that use or hand out the practice's keys (certificates, revocations, recovery
transfers, invitations). A phished TOTP code must not be enough to certify a device.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import UUID

from allauth.mfa.models import Authenticator
from django.db import connection
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from quietroom.accounts.models import User
from quietroom.core.errors import error_response
from quietroom.core.rows import db_uuid
from quietroom.practices.models import STAFF_ROLES, Membership, Role

MFA_CODE = "mfa_required"
PASSKEY_CODE = "passkey_required"
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)

# (methods or None for any, path pattern) open without a second factor.
OPEN: tuple[tuple[frozenset[str] | None, re.Pattern[str]], ...] = (
    (frozenset({"GET"}), re.compile(r"/api/session")),
    (frozenset({"GET", "PUT"}), re.compile(r"/api/keys/account")),
    (None, re.compile(r"/api/keys/devices(/.*)?")),
    (None, re.compile(r"/api/keys/pw-wrap/[^/]+")),
    # Signed, public practice configs: a staff member's new device pins the PRSK from them
    # before two-step enrolment is finished (the membership check still applies).
    (frozenset({"GET"}), re.compile(r"/api/practices/[0-9a-f-]{36}/configs")),
    # Public operations (auth=None): the same for everyone, signed in or not.
    (None, re.compile(r"/api/(health|meta|transparency|csp-report|openapi\.json)")),
    (None, re.compile(r"/api/keys/prelogin")),
    (None, re.compile(r"/api/invitations/open")),
    (None, re.compile(r"/api/setup/[^/]+")),
    # Anyone must be able to leave in a hurry (docs/api/messaging.md, quick exit).
    (frozenset({"POST"}), re.compile(r"/api/quick-exit")),
)


_PRACTICE = r"/api/practices/(?P<practice>[0-9a-f-]{36})"
# A client's record: the practice is the client's (looked up, see passkey_practice).
_CLIENT = r"/api/clients/(?P<client>[0-9a-f-]{36})"
# (method, path pattern) an owner or admin may call only with a passkey.
PASSKEY_ONLY: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("POST", re.compile(_PRACTICE + r"/certificates")),
    ("POST", re.compile(_PRACTICE + r"/revocations")),
    ("GET", re.compile(_PRACTICE + r"/recovery-requests")),
    ("POST", re.compile(_PRACTICE + r"/recovery-requests/[^/]+/transfer")),
    ("POST", re.compile(_PRACTICE + r"/invitations")),
    ("PUT", re.compile(_PRACTICE + r"/messaging-settings")),
    ("POST", re.compile(_CLIENT + r"/care-team")),
    ("DELETE", re.compile(_CLIENT + r"/care-team/[0-9a-f-]{36}")),
)


def passkey_practice(method: str, path: str) -> str | None:
    """The practice id of a passkey-only operation, or None if the operation is not one."""
    for wanted, pattern in PASSKEY_ONLY:
        match = pattern.fullmatch(path)
        if method == wanted and match:
            found = match.groupdict()
            if "client" in found:
                try:
                    client_id = UUID(found["client"])
                except ValueError:
                    return None  # not an id: the operation's own 400/404 answers
                practice_id = (
                    Membership.objects.filter(pk=client_id, role=Role.CLIENT)
                    .values_list("practice_id", flat=True)
                    .first()
                )
                # An unknown client: the operation's own 404 answers.
                return str(practice_id) if practice_id else None
            return found["practice"]
    return None


def needs_passkey(user: User, practice_id: str) -> bool:
    """An active owner or admin of the practice without a WebAuthn authenticator. Anyone else
    passes, and the operation's own checks answer them (a non-member still gets the 404)."""
    is_manager = Membership.objects.filter(
        user=user,
        practice_id=practice_id,
        removed_at__isnull=True,
        role__in=[Role.OWNER, Role.ADMIN],
    ).exists()
    if not is_manager:
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()


def is_open(method: str, path: str) -> bool:
    return any(
        (methods is None or method in methods) and pattern.fullmatch(path)
        for methods, pattern in OPEN
    )


# One hand-written query: this runs on every API request, where the ORM's compilation of the
# two `exists()` it replaces cost more than running them.
_NEEDS_SECOND_FACTOR_SQL = (
    "SELECT 1 FROM {members} m WHERE m.user_id = %s AND m.removed_at IS NULL"
    " AND m.role IN ({roles}) AND NOT EXISTS (SELECT 1 FROM {authenticators} a"
    " WHERE a.user_id = %s AND a.type IN ({types})) LIMIT 1"
)


def needs_second_factor(user: User) -> bool:
    """Staff in any practice without a TOTP or WebAuthn authenticator."""
    roles = [str(r) for r in STAFF_ROLES]
    types = [str(t) for t in SECOND_FACTORS]
    # `_meta` is Django's documented model metadata API, not a private member.
    sql = _NEEDS_SECOND_FACTOR_SQL.format(
        members=Membership._meta.db_table,  # noqa: SLF001
        authenticators=Authenticator._meta.db_table,  # noqa: SLF001
        roles=", ".join(["%s"] * len(roles)),
        types=", ".join(["%s"] * len(types)),
    )
    user_id = db_uuid(user.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, *roles, user_id, *types])
        return cursor.fetchone() is not None


class MfaGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        method = request.method or ""
        user = getattr(request, "user", None)
        if (
            not path.startswith("/api/")
            or not isinstance(user, User)
            or not user.is_authenticated
            or is_open(method, path)
        ):
            return self.get_response(request)
        if needs_second_factor(user):
            return error_response(403, MFA_CODE, "Set up two-step verification to continue.")
        practice_id = passkey_practice(method, path)
        if practice_id is not None and needs_passkey(user, practice_id):
            return error_response(
                403, PASSKEY_CODE, "Add a passkey to manage the practice's keys and team."
            )
        return self.get_response(request)
