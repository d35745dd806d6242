"""Fresh proof of identity before a sensitive action (audit export, key export, recovery
transfer): the session must have authenticated within the last few minutes.

The clock is allauth's own record of the authentications in this session (sign-in with a
password or passkey, a second factor, or an explicit reauthentication through
`/_allauth/browser/v1/auth/reauthenticate`, `…/2fa/reauthenticate` or
`…/webauthn/reauthenticate`), so nothing here keeps a second, diverging record.
"""

from __future__ import annotations

import time

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import get_reauthentication_flows
from django.http import HttpRequest, JsonResponse

from quietroom.core.errors import error_response

REAUTH_CODE = "reauthentication_required"
DEFAULT_MAX_AGE = 300


def last_authenticated_at(request: HttpRequest) -> float | None:
    """When this session last proved who it is (Unix seconds), or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    moments = [
        float(record["at"])
        for record in get_authentication_records(request, user)
        if isinstance(record, dict) and isinstance(record.get("at"), int | float)
    ]
    return max(moments, default=None)


def require_recent_auth(
    request: HttpRequest, max_age: int = DEFAULT_MAX_AGE
) -> JsonResponse | None:
    """None when the signed-in session authenticated within `max_age` seconds; otherwise the
    401 `reauthentication_required` answer to return as is. Its `flows` list names allauth's
    reauthentication flows open to this account ("reauthenticate" for the authKey,
    "mfa_reauthenticate" for a second factor or passkey)."""
    at = last_authenticated_at(request)
    if at is not None and 0 <= time.time() - at < max_age:
        return None
    user = getattr(request, "user", None)
    flows = [flow["id"] for flow in get_reauthentication_flows(user)] if user else []
    return error_response(
        401,
        REAUTH_CODE,
        "Confirm it is you (sign-in again) to do this.",
        flows=flows,
        max_age=max_age,
    )
