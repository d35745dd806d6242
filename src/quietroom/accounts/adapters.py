"""Quietroom's allauth adapters: closed signup, the brute-force ceiling, MFA secrets encrypted
at rest, and an audit event for every session a person ends.

allauth ships no type information, so its base classes are `Any` to mypy.
"""

from __future__ import annotations

import os
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.internal import ratelimit
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from quietroom.accounts import invitations, prelogin
from quietroom.accounts.models import User
from quietroom.accounts.signals import record_refused_login
from quietroom.audit.services import Origin, record_event
from quietroom.core import keyfiles
from quietroom.crypto.encoding import b64url_decode, b64url_encode
from quietroom.crypto.errors import EncodingError
from quietroom.realtime.sessions import end_session_sockets

CEILING_ACTION = "login_failed_ceiling"


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    _ceiling_usage: ratelimit.RateLimitUsage | None = None

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Closed to the public: only someone holding an invitation may create an account.
        return invitations.pending_invitation(request) is not None

    def clean_email(self, email: str) -> str:
        cleaned: str = super().clean_email(email)
        pending = invitations.pending_invitation(context.request)
        if pending is not None and prelogin.normalize_email(cleaned) != pending.email:
            raise ValidationError("Use the email address the invitation was sent to.")
        return cleaned

    def is_email_verified(self, request: HttpRequest, email: str) -> bool:
        # The invitation link reached this address, which proves it as well as allauth's own
        # confirmation email would.
        pending = invitations.pending_invitation(request)
        return pending is not None and prelogin.normalize_email(email) == pending.email

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth prefixes the request's host name; each allowed host name would then get its
        # own per-account budget. The normalised email alone keeps one budget per account.
        return prelogin.normalize_email(str(credentials.get("email") or ""))

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        key = self._get_login_attempts_cache_key(request, **credentials)
        try:
            super().pre_authenticate(request, **credentials)  # allauth's 5 per account, backing off
            # The hard ceiling (AU-02), counted apart from allauth's limit so that neither a
            # password reset (which clears allauth's counter) nor a change to ACCOUNT_RATE_LIMITS
            # lifts it. Like allauth's, it counts attempts and gives back successful ones.
            self._ceiling_usage = ratelimit.consume(
                request,
                app="quietroom.accounts",
                action=CEILING_ACTION,
                config={CEILING_ACTION: f"{settings.LOGIN_FAILURE_CEILING_PER_HOUR}/1h/key"},
                key=key,
            )
            if self._ceiling_usage is None:
                raise self.validation_error("too_many_login_attempts")
        except ValidationError:
            record_refused_login(request, key)
            raise

    def authenticate(self, request: HttpRequest, **credentials: Any) -> User | None:
        user: User | None = super().authenticate(request, **credentials)
        if user is not None and self._ceiling_usage is not None:
            self._ceiling_usage.rollback()
        return user


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    """TOTP secrets and recovery-code seeds are sealed with AES-256-GCM under a key kept in
    the data folder, not the database (AU-06, ENC-02): a database dump alone reveals neither."""

    PREFIX = "qr-aesgcm:"
    # Binds the ciphertext to this use, so no other sealed value can be swapped in for it.
    AAD = b"quietroom/mfa-secret/v1"

    def encrypt(self, text: str) -> str:
        nonce = os.urandom(12)
        sealed = _aead().encrypt(nonce, text.encode("utf-8"), self.AAD)
        return self.PREFIX + b64url_encode(nonce + sealed)

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(self.PREFIX):
            # Never fall back to reading a value as plaintext: that would hide a leak.
            raise ValueError("an MFA secret is not sealed")
        try:
            raw = b64url_decode(encrypted_text.removeprefix(self.PREFIX))
            return _aead().decrypt(raw[:12], raw[12:], self.AAD).decode("utf-8")
        except (EncodingError, InvalidTag) as exc:
            raise ValueError("an MFA secret cannot be opened with this server's key") from exc


def _aead() -> AESGCM:
    return AESGCM(keyfiles.key_bytes(keyfiles.MFA_KEY))


class UserSessionsAdapter(DefaultUserSessionsAdapter):  # type: ignore[misc]
    def end_sessions(self, sessions: Any) -> None:
        request: HttpRequest = context.request
        actor = request.user if isinstance(request.user, User) else None
        with transaction.atomic():
            for session in sessions:
                record_event(
                    action="auth.session.revoked",
                    actor=actor or session.user,
                    object_type="session",
                    object_id=str(session.pk),  # never the session key: it is a credential
                    origin=Origin.of(request),
                )
                end_session_sockets(session.session_key)
                session.end()
