"""Automatic logoff, enforced on the server (AU-08): a session ends after 15 minutes without a
request for staff, 30 for clients, and 12 hours after sign-in whatever the activity.

Django alone gives neither: its session expiry slides forward on every save. So the session
carries when this sign-in began and when it was last used; the last-use time is written at
most once a minute, so an active person does not cost a session write per request (which
makes the idle limit up to a minute stricter, never looser).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_event
from quietroom.core.errors import error_response
from quietroom.core.middleware import is_api
from quietroom.practices.access import active_memberships
from quietroom.practices.models import Role
from quietroom.realtime.sessions import end_session_sockets

SIGNED_IN_AT = "qr.signed_in_at"
LAST_SEEN_AT = "qr.last_seen_at"
IDLE_LIMIT = "qr.idle_limit"

Handler = Callable[[HttpRequest], HttpResponseBase]


def idle_limit(user: User) -> int:
    """Seconds of inactivity allowed: the client limit only for someone who is a client
    everywhere they belong; staff, and anyone not yet in a practice, get the shorter one."""
    roles = {m.role for m in active_memberships(user)}
    if roles == {Role.CLIENT}:
        return int(settings.IDLE_LOGOFF_CLIENT_SECONDS)
    return int(settings.IDLE_LOGOFF_STAFF_SECONDS)


def expiry_reason(session: Mapping[str, Any], now: float) -> str | None:
    """Why this session has ended by the clock, or None while it is still live. Also used by the
    WebSocket handshake, so an expired session cannot open a socket."""
    signed_in_at = session.get(SIGNED_IN_AT)
    if signed_in_at is None:
        return None  # stamped on the way out of the request that signed in
    if now - float(signed_in_at) > settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute session lifetime reached"
    last_seen_at = float(session.get(LAST_SEEN_AT, signed_in_at))
    if now - last_seen_at > int(session.get(IDLE_LIMIT, settings.IDLE_LOGOFF_STAFF_SECONDS)):
        return "idle timeout"
    return None


def _stamp(request: HttpRequest, user: User, now: float) -> None:
    request.session[LAST_SEEN_AT] = now
    request.session[IDLE_LIMIT] = idle_limit(user)


class IdleLogoffMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if isinstance(user, User):
            reason = self._expired(request, user, time.time())
            if reason is not None:
                self._end(request, user, reason)
                if is_api(request):
                    return error_response(
                        401,
                        "session_expired",
                        "You were signed out after a period without activity. Sign in again.",
                    )
        response = self.get_response(request)
        signed_in = getattr(request, "user", None)
        if isinstance(signed_in, User) and SIGNED_IN_AT not in request.session:
            # Just signed in (the login view ran): the clocks start now.
            now = time.time()
            request.session[SIGNED_IN_AT] = now
            _stamp(request, signed_in, now)
        return response

    def _expired(self, request: HttpRequest, user: User, now: float) -> str | None:
        reason = expiry_reason(request.session, now)
        if reason is not None:
            return reason
        last_seen_at = request.session.get(LAST_SEEN_AT)
        if (
            last_seen_at is not None
            and now - float(last_seen_at) >= settings.SESSION_ACTIVITY_WRITE_SECONDS
        ):
            _stamp(request, user, now)  # also picks up a changed role within a minute
        return None

    def _end(self, request: HttpRequest, user: User, reason: str) -> None:
        with transaction.atomic():
            record_event(
                action="auth.session.expired", actor=user, reason=reason, origin=Origin.of(request)
            )
            end_session_sockets(request.session.session_key)
            request.session.flush()  # deletes the server-side session, not just the cookie
        request.user = AnonymousUser()
