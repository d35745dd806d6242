"""Re-authentication before sensitive actions: `require_recent_auth` reads allauth's record of
this session's authentications, and the audit export refuses a session whose last proof is
older than five minutes, with `reauthentication_required`, until allauth's reauthenticate
flow has run (AU-07)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from quietroom.accounts.models import User
from quietroom.accounts.reauth import REAUTH_CODE, require_recent_auth
from quietroom.audit.models import AuditEvent
from tests.harness.personas import Personas
from tests.test_signin import BASE, Browser, give_sign_in

pytestmark = pytest.mark.django_db

EXPORT = "/api/audit/events/export"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(user: User) -> tuple[Browser, str]:
    """A real sign-in through allauth: the authKey, then the persona's TOTP code when it has
    one (staff do: the API wants a second factor from them). Returns the browser and key."""
    key = give_sign_in(user)
    browser = Browser()
    response = browser.login(user.email, key)
    assert response.status_code == 200, response.json()
    return browser, key


def exports() -> int:
    return AuditEvent.objects.filter(action="audit.export").count()


def test_fresh_sign_in_may_export(personas: Personas, clock: time_machine.Traveller) -> None:
    browser, _ = sign_in(personas.owner.user)
    clock.shift(timedelta(seconds=299))
    response = browser.get(EXPORT)
    assert response.status_code == 200
    assert exports() == 1


def test_stale_session_must_reauthenticate_then_may_export(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser, key = sign_in(personas.owner.user)
    clock.shift(timedelta(seconds=301))

    refused = browser.get(EXPORT)
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == REAUTH_CODE
    assert error["flows"] == ["reauthenticate", "mfa_reauthenticate"]
    assert error["max_age"] == 300
    assert "attachment" not in refused.get("Content-Disposition", "")
    assert exports() == 0  # refused before anything is read or recorded as read
    assert browser.get("/api/session").status_code == 200  # still signed in

    answer = browser.post(f"{BASE}/auth/reauthenticate", {"password": key})
    assert answer.status_code == 200, answer.json()
    assert browser.get(EXPORT).status_code == 200
    assert exports() == 1


def test_wrong_key_at_reauthentication_still_refuses(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser, _ = sign_in(personas.owner.user)
    clock.shift(timedelta(minutes=6))
    wrong = give_sign_in(personas.therapist.user)  # a well-formed key of someone else
    assert browser.post(f"{BASE}/auth/reauthenticate", {"password": wrong}).status_code == 400
    assert browser.get(EXPORT).json()["error"]["code"] == REAUTH_CODE


def test_non_reviewer_gets_the_404_not_the_reauth_answer(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser, _ = sign_in(personas.client.user)
    clock.shift(timedelta(minutes=10))
    assert browser.get(EXPORT).status_code == 404


def test_session_without_allauth_record_is_refused(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.owner.user)  # bypasses allauth: no authentication on record
    assert client.get(EXPORT).json()["error"]["code"] == REAUTH_CODE


def test_require_recent_auth_honours_max_age(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    user = personas.owner.user
    browser, _ = sign_in(user)
    request = RequestFactory().get("/")
    request.user = user
    request.session = browser.client.session
    assert require_recent_auth(request) is None
    clock.shift(timedelta(seconds=61))
    assert require_recent_auth(request) is None
    refused = require_recent_auth(request, max_age=60)
    assert refused is not None
    assert refused.status_code == 401


def test_anonymous_request_is_refused() -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    refused = require_recent_auth(request)
    assert refused is not None
    assert refused.status_code == 401
