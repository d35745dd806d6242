"""Security events on the audit trail (AUD-01), from allauth's and Django's signals: sign-in
success and failure, sign-out, signup, password change and reset, and MFA changes. Also
gives every new account its prelogin salt.

A failed sign-in for an email with no account is recorded without an actor, and the typed
email is never stored anywhere.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account import signals as account_signals
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.db import transaction
from django.db.models.signals import post_save
from django.http import HttpRequest

from quietroom.accounts import prelogin
from quietroom.accounts.models import User
from quietroom.audit.models import Outcome
from quietroom.audit.services import Origin, record_event
from quietroom.practices import invitations
from quietroom.realtime.sessions import end_session_sockets

logger = logging.getLogger("quietroom.accounts")


def _record(
    action: str,
    request: HttpRequest | None,
    actor: User | None,
    *,
    outcome: Outcome = Outcome.ALLOWED,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
) -> None:
    # Some of allauth's signals fire after its transaction has committed (on_commit), so each
    # event opens its own; inside an open transaction this is a savepoint of that one.
    with transaction.atomic():
        record_event(
            action=action,
            outcome=outcome,
            actor=actor,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            origin=Origin.of(request),
        )


def _login_action(request: HttpRequest | None) -> str:
    signed_in = request is not None and request.user.is_authenticated
    return "auth.reauthenticate" if signed_in else "auth.login"


def record_refused_login(request: HttpRequest, email: str) -> None:
    """An attempt refused by a rate limit before any password was checked."""
    _record(
        _login_action(request),
        request,
        prelogin.find_account(email),
        outcome=Outcome.FAILED,
        reason="too many failed attempts",
    )


def on_logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record("auth.login", request, user)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    email = credentials.get("email") or credentials.get("username") or ""
    actor = prelogin.find_account(str(email)) if email else None
    _record(_login_action(request), request, actor, outcome=Outcome.FAILED)


def on_logged_out(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if isinstance(user, User):
        _record("auth.logout", request, user)
    if request is not None and hasattr(request, "session"):
        end_session_sockets(request.session.session_key)


def on_signed_up(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record("auth.signup", request, user)
    # Signup is open only to a session holding an invitation for this address (the adapter
    # checks both), so the new account joins the practice at once.
    if invitations.accept(request, user) is None:
        logger.warning("signup without a usable invitation", extra={"user": str(user.id)})


def on_password_changed(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # §9.1 step 4: the new password must come with this session's pending pw_wrap, activated
    # in the same transaction (keys.middleware makes allauth's change view atomic). Without
    # one, raising rolls the change back: the keys would stay sealed under the old password.
    from quietroom.keys import middleware as keys_middleware  # noqa: PLC0415 - import cycle
    from quietroom.keys import services as keys  # noqa: PLC0415

    with transaction.atomic():
        try:
            keys.activate_on_password_change(
                user, keys.session_binding(request), Origin.of(request)
            )
        except keys.NoPendingWrapError:
            raise ImmediateHttpResponse(keys_middleware.no_pending_wrap_response()) from None
        _record("auth.password.changed", request, user)


def on_password_reset(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # §9.2: a reset restores sign-in only; the keys are locked in the same transaction.
    from quietroom.keys import services as keys  # noqa: PLC0415 - import cycle

    with transaction.atomic():
        keys.lock_on_password_reset(user, Origin.of(request))
        _record("auth.password.reset", request, user)


def _authenticator_event(action: str, outcome: Outcome = Outcome.ALLOWED) -> Any:
    def receiver(
        sender: Any, request: HttpRequest, user: User, authenticator: Any, **kwargs: Any
    ) -> None:
        _record(
            action,
            request,
            user,
            outcome=outcome,
            object_type=f"mfa_{authenticator.type}",
            object_id=str(authenticator.pk),
        )

    return receiver


on_authenticator_added = _authenticator_event("auth.mfa.added")
on_authenticator_removed = _authenticator_event("auth.mfa.removed")
on_authenticator_reset = _authenticator_event("auth.mfa.reset")
on_mfa_failed = _authenticator_event("auth.mfa.failed", Outcome.FAILED)


def on_user_created(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        prelogin.create_kdf_params(instance)


def connect() -> None:
    account_signals.user_logged_in.connect(on_logged_in, dispatch_uid="qr-audit-login")
    auth_signals.user_login_failed.connect(on_login_failed, dispatch_uid="qr-audit-login-failed")
    auth_signals.user_logged_out.connect(on_logged_out, dispatch_uid="qr-audit-logout")
    account_signals.user_signed_up.connect(on_signed_up, dispatch_uid="qr-audit-signup")
    account_signals.password_changed.connect(on_password_changed, dispatch_uid="qr-audit-pw")
    account_signals.password_reset.connect(on_password_reset, dispatch_uid="qr-audit-pw-reset")
    mfa_signals.authenticator_added.connect(on_authenticator_added, dispatch_uid="qr-mfa-add")
    mfa_signals.authenticator_removed.connect(on_authenticator_removed, dispatch_uid="qr-mfa-rm")
    mfa_signals.authenticator_reset.connect(on_authenticator_reset, dispatch_uid="qr-mfa-reset")
    mfa_signals.authentication_failed.connect(on_mfa_failed, dispatch_uid="qr-mfa-failed")
    post_save.connect(on_user_created, sender=User, dispatch_uid="qr-kdf-params")
