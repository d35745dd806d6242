"""allauth's password change and reset run in one transaction with our receivers (§9.1 step 4,
§9.2), although `ATOMIC_REQUESTS` is off.

The `password_changed` receiver refuses a change that has no pending pw_wrap for this session
(the keys would otherwise stay sealed under the old password, unopenable). allauth has saved the
new password hash by then, so only a transaction around the whole view can undo it; and the
`password_reset` receiver's "keys locked" must commit together with the new password or not at
all. A change that would be refused anyway is refused before allauth runs, so no "your password
was changed" email goes out for it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from quietroom.accounts.models import User
from quietroom.core.errors import error_response
from quietroom.keys import services

ATOMIC_VIEWS = frozenset({"change_password", "reset_password"})


def no_pending_wrap_response() -> HttpResponseBase:
    return error_response(
        409,
        "pw_wrap_pending_required",
        "Upload the new key wrap (POST /api/keys/pw-wrap/pending) in this session first.",
    )


class AtomicPasswordChangeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.url_name not in ATOMIC_VIEWS:
            return None
        if not request.path_info.startswith("/_allauth/"):
            return None
        user = getattr(request, "user", None)
        if (
            match.url_name == "change_password"
            and isinstance(user, User)
            and not services.has_pending_wrap(user, services.session_binding(request))
        ):
            return no_pending_wrap_response()
        session_key = request.session.session_key
        try:
            # Only a receiver's refusal rolls back. allauth's own 4xx answers change nothing
            # (a successful reset even answers 401), and rolling them back would also undo
            # its rate-limit counters where the cache is the database.
            with transaction.atomic():
                return view_func(request, *view_args, **view_kwargs)
        except ImmediateHttpResponse as exc:  # raised by a receiver: rolled back above
            # allauth cycled the session key before the signal; the rollback restored the old
            # session row, so the request goes on with that one, unchanged.
            request.session = _session_store()(session_key)
            refused: HttpResponseBase = exc.response
            return refused


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore
