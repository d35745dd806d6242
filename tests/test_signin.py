"""Sign-in through allauth's real headless endpoints, as the browser client does it: email and
authKey, CSRF, closed signup, brute-force limits, MFA secrets sealed at rest, and one audit
event per sign-in, failure and sign-out (AU-02, AU-03, AU-06, AUD-01; crypto-protocol §3.5)."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from quietroom.accounts import invitations, prelogin
from quietroom.accounts.adapters import MFAAdapter
from quietroom.accounts.models import KdfParams, User
from quietroom.audit.models import AuditEvent, Outcome
from tests.conftest import CanaryScanner
from tests.harness.personas import STAFF_TOTP_SECRET, Persona, Personas

pytestmark = pytest.mark.django_db

BASE = "/_allauth/browser/v1"
RAW_PASSWORD = "correct horse battery staple"  # noqa: S105 - a typed password, for refusal
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def new_auth_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


def give_sign_in(user: User) -> str:
    """Give a persona what the accounts capability gives every account: a verified primary
    email and a password that is an authKey. Returns the authKey."""
    key = new_auth_key()
    user.set_password(key)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return key


class Browser:
    """The Django test client behaving like the web client: CSRF enforced, JSON bodies."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
        self.client.get(f"{BASE}/auth/session")  # hands out the CSRF cookie

    def _csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies[settings.CSRF_COOKIE_NAME].value}

    def post(self, path: str, body: dict[str, Any], **extra: Any) -> Any:
        return self.client.post(
            path, json.dumps(body), content_type="application/json", headers=self._csrf(), **extra
        )

    def delete(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body) if body is not None else ""
        return self.client.delete(path, data, content_type="application/json", headers=self._csrf())

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def login(self, email: str, key: str, *, second_factor: bool = True, **extra: Any) -> Any:
        """Signs in as the web client does: the authKey, then, when allauth asks for it, the
        code of the persona's authenticator app (staff personas have one: tests.harness)."""
        response = self.post(f"{BASE}/auth/login", {"email": email, "password": key}, **extra)
        if second_factor and _mfa_pending(response):
            response = self.post(f"{BASE}/auth/2fa/authenticate", {"code": fresh_totp(email)})
        return response

    @property
    def session_key(self) -> str | None:
        cookie = self.client.cookies.get(settings.SESSION_COOKIE_NAME)
        return cookie.value if cookie else None


def _mfa_pending(response: Any) -> bool:
    if response.status_code != 401:
        return False
    flows = response.json().get("data", {}).get("flows", [])
    return any(f.get("id") == "mfa_authenticate" and f.get("is_pending") for f in flows)


def fresh_totp(email: str) -> str:
    """The current code of a staff persona's authenticator app. allauth refuses a code used
    once already (replay guard); tests sign in several times within one 30-second step, so
    the guard's mark is cleared here: replay itself is not under test."""
    user = User.objects.get(email=email.lower())
    code: str = format_hotp_value(hotp_value(STAFF_TOTP_SECRET, int(time.time()) // 30))
    cache.delete(f"allauth.mfa.totp.used?user={user.pk}&code={code}")
    return code


def signed_in(persona: Persona) -> Browser:
    key = give_sign_in(persona.user)
    browser = Browser()
    assert browser.login(persona.user.email, key).status_code == 200
    AuditEvent.objects.all().delete()  # the tests below count only their own events
    return browser


def error_codes(response: Any) -> list[str]:
    return [str(e.get("code")) for e in response.json().get("errors", [])]


def events(action: str | None = None) -> list[AuditEvent]:
    qs = AuditEvent.objects.order_by("seq")
    return list(qs.filter(action=action) if action else qs)


# --- Sign-in, failure, sign-out ------------------------------------------------------------


def test_sign_in_with_auth_key_writes_one_event(personas: Personas) -> None:
    user = personas.therapist.user
    key = give_sign_in(user)
    browser = Browser()
    before = browser.session_key
    response = browser.login(user.email.upper(), key)  # allauth matches emails case-blind
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["user"]["email"] == user.email
    assert browser.session_key is not None
    assert browser.session_key != before  # a new session id at sign-in (AU-09)
    assert browser.get("/api/session").json()["user_id"] == str(user.id)
    [event] = events()
    assert (event.action, event.outcome, event.actor_id) == ("auth.login", Outcome.ALLOWED, user.id)
    assert event.address == "127.0.0.0/24"


def test_login_needs_csrf(personas: Personas) -> None:
    user = personas.client.user
    key = give_sign_in(user)
    client = Client(enforce_csrf_checks=True)
    body = json.dumps({"email": user.email, "password": key})
    response = client.post(f"{BASE}/auth/login", body, content_type="application/json")
    assert response.status_code == 403
    assert events() == []


def test_wrong_auth_key_fails_with_one_event(personas: Personas) -> None:
    user = personas.client.user
    give_sign_in(user)
    response = Browser().login(user.email, new_auth_key())
    assert response.status_code == 400
    assert "email_password_mismatch" in error_codes(response)
    [event] = events()
    assert (event.action, event.outcome, event.actor_id) == ("auth.login", Outcome.FAILED, user.id)


def test_unknown_email_looks_like_a_wrong_key_and_stores_no_email(personas: Personas) -> None:
    user = personas.client.user
    give_sign_in(user)
    typed = "Nobody.Here@Example.test"
    known = Browser().login(user.email, new_auth_key())
    unknown = Browser().login(typed, new_auth_key())
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    failure = events()[-1]
    assert (failure.outcome, failure.actor_id) == (Outcome.FAILED, None)
    for event in events():
        for field in event._meta.fields:
            assert "nobody" not in str(getattr(event, field.attname)).lower()


def test_sign_out_writes_one_event(personas: Personas) -> None:
    browser = signed_in(personas.owner)
    response = browser.delete(f"{BASE}/auth/session")
    assert response.status_code == 401  # allauth: "now signed out"
    assert browser.get("/api/session").status_code == 401
    [event] = events()
    assert (event.action, event.actor_id) == ("auth.logout", personas.owner.user.id)


def test_old_session_cookie_is_dead_after_sign_out(personas: Personas) -> None:
    browser = signed_in(personas.client)
    old = browser.session_key
    browser.delete(f"{BASE}/auth/session")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old or ""
    assert replay.get("/api/session").status_code == 401


# --- The server accepts only authKeys (§3.5) ------------------------------------------------


def test_raw_password_refused_at_password_change(personas: Personas) -> None:
    user = personas.client.user
    key = give_sign_in(user)
    browser = Browser()
    assert browser.login(user.email, key).status_code == 200
    AuditEvent.objects.all().delete()
    change = f"{BASE}/account/password/change"
    for bad in (RAW_PASSWORD, new_auth_key() + "=", new_auth_key()[:-1] + "B", "A" * 44):
        response = browser.post(change, {"current_password": key, "new_password": bad})
        assert response.status_code == 400, bad
        assert "43-character key" in json.dumps(response.json())
    assert events() == []
    new_key = new_auth_key()
    response = browser.post(change, {"current_password": key, "new_password": new_key})
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert user.check_password(new_key)
    assert user.password.startswith("argon2$argon2id$")
    assert [e.action for e in events()] == ["auth.password.changed"]


def test_signup_is_closed_without_an_invitation() -> None:
    response = Browser().post(
        f"{BASE}/auth/signup", {"email": "someone@example.test", "password": new_auth_key()}
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="someone@example.test").exists()
    assert Browser().get(f"{BASE}/config").json()["data"]["account"]["is_open_for_signup"] is False


def test_signup_with_an_invitation_takes_only_an_auth_key(monkeypatch: pytest.MonkeyPatch) -> None:
    email = "Invited@Example.test"
    invitation = invitations.PendingInvitation(uuid.uuid4(), email.lower())
    monkeypatch.setattr(invitations, "pending_invitation", lambda _request: invitation)
    browser = Browser()
    response = browser.post(f"{BASE}/auth/signup", {"email": email, "password": RAW_PASSWORD})
    assert response.status_code == 400
    assert "43-character key" in json.dumps(response.json())
    assert not User.objects.exists()

    response = browser.post(f"{BASE}/auth/signup", {"email": email, "password": new_auth_key()})
    # The invitation proved the address, so the new account is signed in at once.
    assert response.status_code == 200
    user = User.objects.get()
    # The salt is fixed at creation, and it is what prelogin gave this email before (§3.1).
    assert KdfParams.objects.get(user=user).salt == prelogin.formula_salt(email)
    assert "auth.signup" in [e.action for e in events()]


# --- Answers alike for known and unknown emails (AU-03) ----------------------------------


def test_password_reset_request_answers_alike(personas: Personas) -> None:
    give_sign_in(personas.client.user)
    known = Browser().post(f"{BASE}/auth/password/request", {"email": personas.client.user.email})
    unknown = Browser().post(f"{BASE}/auth/password/request", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code
    assert known.json() == unknown.json()
    assert dict(known.headers).keys() == dict(unknown.headers).keys()


# --- Brute force (AU-02) -------------------------------------------------------------------


def test_sixth_failure_is_throttled_even_with_the_right_key(personas: Personas) -> None:
    user = personas.therapist.user
    key = give_sign_in(user)
    with time_machine.travel(datetime(2031, 3, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        for _ in range(5):
            response = Browser().login(user.email, new_auth_key())
            assert "email_password_mismatch" in error_codes(response)
        sixth = Browser().login(user.email, key)
        assert sixth.status_code == 400
        assert "too_many_login_attempts" in error_codes(sixth)
        assert [e.outcome for e in events()] == [Outcome.FAILED] * 6
        assert events()[-1].reason == "too many failed attempts"
        clock.shift(timedelta(minutes=5, seconds=1))  # the oldest failure has aged out
        assert Browser().login(user.email, key).status_code == 200


@override_settings(
    PASSWORD_HASHERS=FAST_HASHER,  # the ceiling is about counting, not about hashing cost
    # Lift allauth's own limits, so that only the hard ceiling is left to hold the line.
    ACCOUNT_RATE_LIMITS={"login": "10000/m/ip", "login_failed": "10000/m/ip"},
)
def test_hundred_and_first_failure_in_an_hour_is_refused_from_any_address(
    personas: Personas,
) -> None:
    user = personas.client.user
    key = give_sign_in(user)
    with time_machine.travel(datetime(2031, 3, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        for attempt in range(100):
            clock.shift(timedelta(seconds=30))
            response = Browser(f"198.51.{attempt}.7").login(user.email, new_auth_key())
            assert "email_password_mismatch" in error_codes(response), attempt
        refused = Browser("203.0.113.9").login(user.email, key)
        assert "too_many_login_attempts" in error_codes(refused)
        assert len(events()) == 101
        clock.shift(timedelta(minutes=11))  # the first two failures are now over an hour old
        assert Browser("203.0.113.10").login(user.email, key).status_code == 200


# --- MFA secrets never stored in plaintext (AU-06) -------------------------------------------


@pytest.mark.django_db(transaction=True)  # committed, so the scan sees what is on disk
def test_totp_secret_is_sealed_at_rest(personas: Personas, canary_scanner: CanaryScanner) -> None:
    user = personas.therapist.user
    Authenticator.objects.filter(user=user).delete()  # enrol the first second factor here
    key = give_sign_in(user)
    browser = Browser()
    assert browser.login(user.email, key).status_code == 200
    # Changing a second factor needs a fresh proof of the first.
    assert browser.post(f"{BASE}/auth/reauthenticate", {"password": key}).status_code == 200
    AuditEvent.objects.all().delete()
    totp = f"{BASE}/account/authenticators/totp"
    offer = browser.get(totp)
    assert offer.status_code == 404  # no TOTP yet; allauth offers a fresh secret
    secret = offer.json()["meta"]["secret"]
    code = format_hotp_value(hotp_value(secret, int(datetime.now(UTC).timestamp()) // 30))
    response = browser.post(totp, {"code": code})
    assert response.status_code == 200, response.json()

    stored = Authenticator.objects.get(user=user, type="totp")
    assert stored.data["secret"].startswith(MFAAdapter.PREFIX)
    assert MFAAdapter().decrypt(stored.data["secret"]) == secret
    seed = Authenticator.objects.get(user=user, type="recovery_codes")
    assert seed.data["seed"].startswith(MFAAdapter.PREFIX)
    assert canary_scanner.hits(secret) == []
    assert canary_scanner.hits(user.email)  # the scan does see the database
    mode = (settings.CONFIG.data_dir / "mfa_key").stat().st_mode & 0o777
    assert mode == 0o600
    assert [e.action for e in events()] == ["auth.mfa.added", "auth.mfa.added"]
    assert {e.object_type for e in events()} == {"mfa_totp", "mfa_recovery_codes"}

    # From now on the authKey alone does not sign in (AU-01's "no path skips MFA").
    browser.delete(f"{BASE}/auth/session")
    again = Browser()
    pending = again.login(user.email, key, second_factor=False)
    assert pending.status_code == 401
    assert again.get("/api/session").status_code == 401


def test_sealed_value_refuses_plaintext_and_tampering() -> None:
    adapter = MFAAdapter()
    with pytest.raises(ValueError, match="not sealed"):
        adapter.decrypt("JBSWY3DPEHPK3PXP")
    sealed = adapter.encrypt("JBSWY3DPEHPK3PXP")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(ValueError, match="cannot be opened"):
        adapter.decrypt(flipped)


# --- Ending one's other sessions is audited --------------------------------------------------


def test_revoking_a_session_is_audited(personas: Personas) -> None:
    user = personas.client.user
    key = give_sign_in(user)
    laptop, phone = Browser(), Browser()
    assert laptop.login(user.email, key).status_code == 200
    assert phone.login(user.email, key).status_code == 200
    AuditEvent.objects.all().delete()
    listed = laptop.get(f"{BASE}/auth/sessions").json()["data"]
    other = next(s["id"] for s in listed if not s["is_current"])
    assert laptop.delete(f"{BASE}/auth/sessions", {"sessions": [other]}).status_code == 200
    assert phone.get("/api/session").status_code == 401
    assert laptop.get("/api/session").status_code == 200
    [event] = events()
    assert (event.action, event.actor_id, event.object_id) == (
        "auth.session.revoked",
        user.id,
        str(other),
    )
